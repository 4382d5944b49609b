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
import { type ChildProcess, spawn } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemdRunning } from "../../../agent/conditions/service-status.js";
import { runShip } from "../../support/ship-cli.js";

let root: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-service-15-"));
  await mkdir(join(root, "app"));
  await copyFile("/bin/sleep", join(root, "payments-worker-daemon"));
  await chmod(join(root, "payments-worker-daemon"), 0o755);
  child = spawn(join(root, "payments-worker-daemon"), ["600"], { stdio: "ignore" });
  const comm = () => readFile(`/proc/${child?.pid}/comm`, "utf8").catch(() => "");
  for (let i = 0; i < 200 && (await comm()).trim() !== "payments-worker"; i++) await sleep(50);
});
afterAll(async () => {
  child?.kill("SIGKILL");
  await rm(root, { recursive: true, force: true });
});

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
