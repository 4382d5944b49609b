/**
 * `required_services` and `service_running()` on a host without systemd (a container): a process
 * whose name is longer than the 15 characters the kernel keeps as its comm. pgrep -x never matches
 * such a name (it warns on stderr and finds nothing), so a running `my-long-service-daemon` read as
 * stopped: the requirement failed every run and a skip_update on it never held. A process that
 * shares only its first 15 characters is still no match.
 */
import type { ChildProcess } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemdRunning } from "../../../agent/conditions/service-status.js";
import { runShip } from "../../support/ship-cli.js";
import { servicesManifest, startNamed } from "./named-processes.js";

let root: string;
const children: ChildProcess[] = [];

/** Starts `program` (a file in root), killed after the file. */
async function start(program: string, args: string[]): Promise<void> {
  children.push(await startNamed(root, program, args));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-long-service-"));
  await mkdir(join(root, "app"));
  await copyFile("/bin/sleep", join(root, "my-long-service-daemon"));
  await chmod(join(root, "my-long-service-daemon"), 0o755);
  await writeFile(join(root, "my-long-worker-script"), "#!/bin/sh\nsleep 600\n", { mode: 0o755 });
  await copyFile("/bin/sleep", join(root, "my-long-service-decoy"));
  await chmod(join(root, "my-long-service-decoy"), 0o755);
  await start("my-long-service-daemon", ["600"]);
  await start("my-long-worker-script", []);
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await rm(root, { recursive: true, force: true });
});

const manifest = (services: string[]) => servicesManifest(root, services);

describe.skipIf(systemdRunning())(
  "a service whose process name is longer than 15 characters (no systemd)",
  () => {
    it("a running binary and a running #! script are found, by the requirement and by service_running()", async () => {
      const file = await manifest(["my-long-service-daemon", "my-long-worker-script.service"]);
      const requirements = await runShip(["--check-requirements", file, "--app-dir", join(root, "app")]);
      expect(requirements.stderr).not.toMatch(/pgrep/);
      expect(requirements.code, requirements.stdout).toBe(0);
      expect(requirements.stdout).toMatch(/ok +required_services\.my-long-service-daemon: running/);
      expect(requirements.stdout).toMatch(/ok +required_services\.my-long-worker-script\.service: running/);
      const conditions = await runShip(["--test-conditionals", file, "--app-dir", join(root, "app")]);
      expect(conditions.stderr).not.toMatch(/pgrep/);
      expect(conditions.stdout).toMatch(/HOLDS +service_running\('my-long-service-daemon'\)/);
      expect(conditions.stdout).toMatch(/HOLDS +service_running\('my-long-worker-script\.service'\)/);
    });

    it("one sharing only its first 15 characters is not it", async () => {
      await start("my-long-service-decoy", ["600"]);
      const file = await manifest(["my-long-service-dormant"]);
      const requirements = await runShip(["--check-requirements", file, "--app-dir", join(root, "app")]);
      expect(requirements.code).toBe(1);
      expect(requirements.stdout).toMatch(
        /FAIL required_services\.my-long-service-dormant: no process named/,
      );
      const conditions = await runShip(["--test-conditionals", file, "--app-dir", join(root, "app")]);
      expect(conditions.stdout).toMatch(/no +service_running\('my-long-service-dormant'\)/);
    });
  },
);
