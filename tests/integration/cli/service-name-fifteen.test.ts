/**
 * review35: `required_services` / `service_running()` without systemd, a name of exactly 15
 * characters. README: "`nginx` or `nginx.service` is a process named `nginx`; a name longer than
 * the 15 characters the kernel keeps ... is a process whose comm is its first 15 and whose program
 * has the whole name". A process named `payments-worker-daemon` has the comm `payments-worker`
 * (cut to 15), so a required service `payments-worker` (15 characters, no such process) read as
 * running: the comm alone was trusted, though it may be a longer name cut short.
 * Repro: cp /bin/sleep payments-worker-daemon; ./payments-worker-daemon 300 &
 *        required_services: ["payments-worker"]  →  "ok required_services.payments-worker: running
 *        (… pgrep -x)", exit 0; expected FAIL, exit 1.
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
let child: ChildProcess | undefined;
const others: ChildProcess[] = [];

const start = (program: string, args: string[]) => startNamed(root, program, args);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-service-15-"));
  await mkdir(join(root, "app"));
  for (const program of ["payments-worker-daemon", "payments-ledger"]) {
    await copyFile("/bin/sleep", join(root, program));
    await chmod(join(root, program), 0o755);
  }
  for (const script of ["metrics-collector-py", "metrics-scraper"])
    await writeFile(join(root, script), "#!/bin/sh\nsleep 600\n", { mode: 0o755 });
  child = await start("payments-worker-daemon", ["600"]);
  others.push(await start("payments-ledger", ["600"]));
  others.push(await start("metrics-collector-py", []));
  others.push(await start("metrics-scraper", []));
});
afterAll(async () => {
  child?.kill("SIGKILL");
  for (const other of others) other.kill("SIGKILL");
  await rm(root, { recursive: true, force: true });
});

const manifest = (services: string[]) => servicesManifest(root, services);

describe.skipIf(systemdRunning())("a 15-character service name (no systemd)", () => {
  it("is not found running because a longer-named process's comm is cut to it", async () => {
    const file = join(root, "m.yaml");
    await writeFile(
      file,
      [
        'version: "1.0.0"',
        "conditionals:",
        `  - {condition: "service_running('payments-worker')", action: warn, message: "up"}`,
        "requirements:",
        '  required_services: ["payments-worker"]',
        "",
      ].join("\n"),
    );
    const requirements = await runShip(["--check-requirements", file, "--app-dir", join(root, "app")]);
    expect(requirements.stdout).toMatch(/FAIL required_services\.payments-worker: no process named/);
    expect(requirements.code).toBe(1);
    const conditions = await runShip(["--test-conditionals", file, "--app-dir", join(root, "app")]);
    expect(conditions.stdout).toMatch(/no +service_running\('payments-worker'\)/);
  });
});

describe.skipIf(systemdRunning())("15-character service names, more cases (no systemd)", () => {
  it("a #! script whose name only starts with the 15 characters is not it", async () => {
    const file = await manifest(["metrics-collect.service"]);
    const requirements = await runShip(["--check-requirements", file, "--app-dir", join(root, "app")]);
    expect(requirements.stdout).toMatch(/FAIL required_services\.metrics-collect\.service: no process named/);
    expect(requirements.code).toBe(1);
    const conditions = await runShip(["--test-conditionals", file, "--app-dir", join(root, "app")]);
    expect(conditions.stdout).toMatch(/no +service_running\('metrics-collect\.service'\)/);
  });

  it("a program and a #! script named exactly 15 characters are found running", async () => {
    const file = await manifest(["payments-ledger", "metrics-scraper"]);
    const requirements = await runShip(["--check-requirements", file, "--app-dir", join(root, "app")]);
    expect(requirements.stdout).toMatch(/ok +required_services\.payments-ledger: running/);
    expect(requirements.stdout).toMatch(/ok +required_services\.metrics-scraper: running/);
    expect(requirements.code, requirements.stdout).toBe(0);
    const conditions = await runShip(["--test-conditionals", file, "--app-dir", join(root, "app")]);
    expect(conditions.stdout).toMatch(/HOLDS +service_running\('payments-ledger'\)/);
    expect(conditions.stdout).toMatch(/HOLDS +service_running\('metrics-scraper'\)/);
  });
});
