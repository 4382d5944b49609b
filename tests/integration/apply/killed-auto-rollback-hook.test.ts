/**
 * An update whose health check failed restored the previous version (its backup consumed), and was
 * SIGKILLed in the rollback hook that followed. The recovery then said "update to 2.0.0 was
 * interrupted; the app's files were not changed (1.0.0 stays)", in its line, the state's last_error
 * and the on_failure it sent: 2.0.0 had been installed and taken out again. It says what was done.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhookReceiver } from "../../support/servers/webhook-receiver.js";
import { runShip, startShip } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

/** Runs ship and SIGKILLs it once `started` exists: its rollback hook has begun. */
async function killOnceStarted(started: string): Promise<void> {
  const run = startShip(["--config", app.config]);
  const exists = () =>
    access(started).then(
      () => true,
      () => false,
    );
  await waitFor("the rollback hook", exists, { timeoutMs: 30_000, intervalMs: 20, where: app.root });
  run.child.kill("SIGKILL");
  expect((await run.done).signal).toBe("SIGKILL");
}

describe.skipIf(process.platform !== "linux")(
  "an automatic rollback killed during its rollback hook (real CLI)",
  () => {
    it("--recover says the previous version was restored, not that the files were not changed", async () => {
      const started = join(app.root, "hook-started");
      await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n" });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      const onOne = await snapshot(app.appDir);
      await app.release(
        "r2",
        // Only the first run's hook hangs: the recovery runs it again.
        `version: "2.0.0"\nhooks:\n  rollback:\n    - command: "[ -e ${started} ] || { touch ${started}; sleep 60; }"\n` +
          `post_update_tests:\n  - name: health\n    command: "exit 1"\n`,
        { "app.txt": "v2\n", "f2.txt": "2\n" },
      );
      await killOnceStarted(started);
      expect(await snapshot(app.appDir)).toEqual(onOne);

      const recovered = await runShip(["--config", app.config, "--recover"]);
      expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
      expect(recovered.stdout).toContain("update to 2.0.0 was interrupted; restored 1.0.0");
      expect(recovered.stdout).not.toContain("not changed");
      expect((await app.state()).sources.myapp).toMatchObject({
        current_version: "1.0.0",
        last_error: expect.stringContaining("restored 1.0.0"),
      });
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    }, 90_000);

    // The killed run had not said why it failed: recovery said "interrupted", and the state's
    // last_error and on_failure never named the failed health check (or hook). The reason is
    // recorded before the rollback steps start, and recovery names it wherever the kill came.
    const failures = [
      {
        what: "a failed health check, killed in the rollback hook after the restore",
        manifest: `post_update_tests:\n  - name: health\n    command: "echo down >&2; exit 1"\n`,
        step: "tests",
        files: "restored 1.0.0",
      },
      {
        what: "a failed pre_update hook, killed in the rollback hook (no file changed)",
        manifest: `  pre_update:\n    - "echo stopping failed >&2; exit 4"\n`,
        step: "pre_update hooks",
        files: "the app's files were not changed (1.0.0 stays)",
      },
      {
        // SIGKILLed by the fault point in the middle of putting 1.0.0's files back.
        what: "a failed health check, killed in the restore",
        manifest: `post_update_tests:\n  - name: health\n    command: "echo down >&2; exit 1"\n`,
        step: "tests",
        files: "restored 1.0.0",
        fault: "restore:file",
      },
    ];
    for (const failure of failures)
      it(`keeps why the update failed: ${failure.what}`, async () => {
        const hook = await webhookReceiver();
        try {
          const started = join(app.root, "hook-started");
          await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n" });
          expect((await runShip(["--config", app.config])).code).toBe(0);
          const hooks = failure.manifest.startsWith("  ") ? failure.manifest : "";
          await app.release(
            "r2",
            `version: "2.0.0"\nhooks:\n${hooks}  rollback:\n    - command: "[ -e ${started} ] || { touch ${started}; ${failure.fault === undefined ? "sleep 60" : "true"}; }"\n` +
              (hooks === "" ? failure.manifest : "") +
              `notifications:\n  on_failure:\n    - type: "webhook"\n      url: "${hook.url}"\n`,
            { "app.txt": "v2\n" },
          );
          if (failure.fault === undefined) {
            await killOnceStarted(started);
          } else {
            const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: failure.fault } });
            expect(killed.code, killed.stderr).toBeNull();
            await expect(access(started)).rejects.toThrow();
          }

          // A check recovers nothing, but says why the update it waits to undo had failed.
          const check = await runShip(["--config", app.config, "--check-only"]);
          expect(check.stdout).toMatch(
            new RegExp(
              `waits for recovery: .* first \\(it had failed at ${failure.step}: .*(down|stopping failed)`,
            ),
          );
          const recovered = await runShip(["--config", app.config, "--recover"]);
          expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
          const reason = new RegExp(
            `update to 2\\.0\\.0 was interrupted; ${failure.files.replace(/[.()]/g, "\\$&")}; it had failed at ${failure.step}: .*(down|stopping failed)`,
          );
          expect(recovered.stdout).toMatch(reason);
          const state = (await app.state()).sources.myapp;
          expect(state?.last_error).toMatch(reason);
          expect(state?.pending_update).toBeUndefined();
          expect(hook.bodies).toHaveLength(1);
          expect(String(hook.bodies[0]?.error)).toMatch(reason);
          expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
        } finally {
          await hook.close();
        }
      }, 90_000);
  },
);
