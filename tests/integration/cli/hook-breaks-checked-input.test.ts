/**
 * What ship checks before the pre_update hooks, changed by a hook before the apply, met by real
 * `ship` runs: backup_dir/<app> turned into a file, a config a merge reads made unparsable. Before:
 * exit 2 "bad input" after the hooks (and the rollback hooks) had run, the state file untouched
 * (exit 2 records nothing) but for a pending record, so the next run said the update "was
 * interrupted … (killed while rolling back)" and ran the rollback hooks again. Now: a failed run
 * like any other, exit 1, the app's files unchanged, the failure recorded, nothing left pending.
 */
import { createHash } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { snapshot } from "../apply/tree-fixtures.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const manifest = (version: string, preUpdate: string) =>
  `version: "${version}"\nfiles:\n  "config.toml":\n    action: merge_toml\n` +
  `hooks:\n  pre_update: [${JSON.stringify(preUpdate)}]\n  rollback: ["echo rb >> ../rollback.log"]\n`;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function rollbackRuns(): Promise<number> {
  const text = await readFile(join(app.root, "rollback.log"), "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).length;
}

describe("a pre_update hook that breaks what ship checked before it (real CLI)", () => {
  it.each([
    {
      what: "backup_dir/<app> replaced by a file",
      hook: (root: string) => `rm -rf ${root}/var/backups/myapp && echo x > ${root}/var/backups/myapp`,
      says: (root: string) => `backup_dir ${root}/var/backups cannot be listed`,
      mend: (root: string) => rm(join(root, "var/backups/myapp")),
      hookEdits: {},
    },
    {
      what: "a config a merge reads made unparsable",
      hook: () => "echo '[[[ broken' > config.toml",
      says: (root: string) => `${root}/app/config.toml:1:3 cannot merge`,
      mend: (root: string) => writeFile(join(root, "app/config.toml"), "a = 1\n"),
      hookEdits: { "config.toml": `file 644 ${sha256("[[[ broken\n")}` },
    },
  ])(
    "$what: exit 1, failure recorded, rollback hooks once, the next run is not told of an interruption",
    async ({ hook, says, mend, hookEdits }) => {
      await app.release("v1", manifest("1.0.0", "true"), { "config.toml": "a = 1\n" });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      await app.release("v2", manifest("2.0.0", hook(app.root)), { "config.toml": "a = 1\nb = 2\n" });
      const before = await snapshot(app.appDir);

      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toContain(`myapp: update failed at apply: ${says(app.root)}`);
      expect(run.stdout).toContain("the app's files were not changed");
      expect(await rollbackRuns()).toBe(1);
      const state = (await app.state()).sources.myapp;
      expect(state?.current_version).toBe("1.0.0");
      expect(state?.last_result).toBe("failed_unchanged");
      expect(String(state?.last_error)).toContain(says(app.root));
      expect(state?.pending_update).toBeUndefined();
      // Only the hook's own change: ship wrote nothing in the app.
      expect(await snapshot(app.appDir)).toEqual({ ...before, ...hookEdits });

      await mend(app.root);
      await app.release("v2", manifest("2.0.0", "true"), { "config.toml": "a = 1\nb = 2\n" });
      const next = await runShip(["--config", app.config]);
      expect(next.code, next.stderr).toBe(0);
      expect(next.stdout.trim()).toMatch(/^myapp: updated 1\.0\.0 → 2\.0\.0/);
      expect(next.stderr).not.toContain("interrupted");
      expect(await rollbackRuns()).toBe(1);
      expect((await app.state()).sources.myapp?.current_version).toBe("2.0.0");
    },
    60_000,
  );
});
