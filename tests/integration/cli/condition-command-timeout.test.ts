/**
 * A `skip_update` conditional whose `command('…')` hangs (a maintenance check waiting on a dead
 * NFS mount, a database that does not answer) is killed after 30 s, or its conditional's `timeout`,
 * and reads false: the update goes ahead. That stays (a hung check must not block every run for
 * ever), but it was said only at DEBUG, so the maintenance window the operator relied on was
 * ignored without a word. The run's warnings (stderr, --json, notifications) and
 * --test-conditionals now say the command gave no answer and was killed. Here with `timeout: 2`
 * (the default's 30 s were this file's whole wall time); a conditional without one is not held to
 * another's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeAll(async () => {
  app = await localApp();
});
afterAll(async () => {
  await app.cleanup();
});

describe("a condition's command that gives no answer", () => {
  it("reads false, with a warning saying it was killed after its conditional's timeout (run and --test-conditionals)", async () => {
    const dir = await app.release(
      "v1",
      [
        'version: "1.0.0"',
        "conditionals:",
        "  - condition: \"command('sleep 120')\"",
        "    action: skip_update",
        "    message: maintenance window",
        "    timeout: 2",
        // No timeout of its own: the default, not the 2 s above, so it answers after 3 s.
        "  - condition: \"command('sleep 3')\"",
        "    action: warn",
        "    message: the slow check answered",
        "",
      ].join("\n"),
    );
    const said =
      "command('sleep …') read false: it gave no answer in 2 s (the limit of a condition's command) and was killed";
    const [run, check] = await Promise.all([
      runShip(["--config", app.config, "--json"]),
      runShip(["--test-conditionals", `${dir}/update-manifest.yaml`, "--app-dir", app.appDir]),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).apps[0].warnings).toContain(said);
    expect(run.stderr).toContain(`myapp: WARNING: ${said}`);
    expect(check.stdout).toContain(`warning: ${said}`);
    expect(JSON.parse(run.stdout).apps[0].warnings).toContain("the slow check answered");
    expect(check.stdout).toContain("HOLDS  command('sleep 3')");
  }, 120_000);
});

describe("a condition's command that a signal ends", () => {
  it("reads false with a warning naming the signal, and a requirement's check names it too", async () => {
    // The OOM killer ending the shell itself, and sh reporting a program it ran killed (128 + N).
    const dir = await app.release(
      "v2",
      [
        'version: "2.0.0"',
        "conditionals:",
        "  - condition: \"command('kill -KILL $$')\"",
        "    action: skip_update",
        "    message: maintenance window",
        "  - condition: \"command('sleep 60 & kill -SEGV $!; wait $!')\"",
        "    action: skip_update",
        "    message: crashing check",
        "  - condition: \"command('exit 130')\"",
        "    action: skip_update",
        "    message: deliberate code",
        "requirements:",
        "  environment_checks:",
        "    - name: db",
        '      command: "kill -KILL $$"',
        "",
      ].join("\n"),
    );
    const killed = "command('kill …') read false: it was killed by SIGKILL, so it gave no answer";
    // Only the code is known: a program may exit 128 + N itself (a script's `exit 130` after Ctrl-C),
    // and was said killed by the signal, giving no answer, all the same.
    const crashed =
      "command('sleep …') read false: it exited with 139, the shell's code for a program killed by SIGSEGV, unless the command exits so itself\n";
    const chosen =
      "command('exit …') read false: it exited with 130, the shell's code for a program killed by SIGINT, unless the command exits so itself\n";
    const manifest = `${dir}/update-manifest.yaml`;
    const [check, requirements] = await Promise.all([
      runShip(["--test-conditionals", manifest, "--app-dir", app.appDir]),
      runShip(["--check-requirements", manifest, "--app-dir", app.appDir]),
    ]);
    expect(check.stdout).toContain(`warning: ${killed}`);
    expect(check.stdout).toContain(`warning: ${crashed}`);
    expect(check.stdout).toContain(`warning: ${chosen}`);
    expect(requirements.code).toBe(1);
    expect(requirements.stdout).toContain("FAIL environment_checks.db: killed by SIGKILL (kill …)");
  }, 60_000);
});
