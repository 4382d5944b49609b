/**
 * Two sources filling one app_dir, run one at a time with `--sources` (the README's one-per-kind
 * example): alpha installs 1.0.0, then beta installs 5.0.0 over it. A rollback's chain is every
 * backup of the app directory, whatever source made it, so `--list-backups` must judge each backup
 * by that chain too. Real `ship` runs.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
const dir = (name: string) => join(app.root, name);

async function twoSources(alphaRelease: string): Promise<void> {
  await writeFile(
    app.config,
    `[general]\nstate_file = "${app.stateFile}"\nbackup_dir = "${app.root}/var/backups"\nmin_interval_hours = 0\n\n` +
      `[sources.alpha]\ntype = "local"\npath = "${dir(alphaRelease)}"\napp_dir = "${app.appDir}"\n\n` +
      `[sources.beta]\ntype = "local"\npath = "${dir("b5")}"\napp_dir = "${app.appDir}"\n`,
  );
}

async function ship(...args: string[]) {
  return runShip(["--config", app.config, ...args]);
}

builtOnceRestoredEachTest(async () => {
  app = await localApp();
  await app.release("a1", 'version: "1.0.0"\n', { "a.txt": "a1\n", "common.txt": "alpha 1\n" });
  await app.release("a2", 'version: "2.0.0"\n', { "a.txt": "a2\n", "common.txt": "alpha 2\n" });
  await app.release("b5", 'version: "5.0.0"\n', { "b.txt": "b5\n", "common.txt": "beta 5\n" });
  await twoSources("a1");
  expect((await ship("--sources", "alpha")).code).toBe(0);
  const beta = await ship("--sources", "beta");
  expect(beta.code, beta.stderr).toBe(0);
  return app.root;
});

interface Row {
  id: string;
  source: string;
  version: string | null;
  restorable: boolean;
  notRestorable?: string;
}

async function listed(...args: string[]): Promise<Row[]> {
  const list = await ship("--list-backups", "--json", ...args);
  expect(list.code, list.stderr).toBe(0);
  return JSON.parse(list.stdout) as Row[];
}

describe("two sources filling one app_dir (real CLI)", () => {
  it("--list-backups calls alpha's backup restorable through beta's, as --rollback then restores it", async () => {
    // It said NOT RESTORABLE ("has no backup that undoes the installed 5.0.0 … was a backup deleted
    // by hand?") while beta's backup of 5.0.0 was there, and --rollback restored it through that one.
    let id = "";
    for (const args of [[], ["--sources", "alpha"]]) {
      const alpha = (await listed(...args)).find((b) => b.source === "alpha");
      expect(alpha, JSON.stringify(args)).toMatchObject({ version: null, restorable: true });
      expect(alpha?.notRestorable).toBeUndefined();
      id = alpha?.id ?? "";
    }
    const text = await ship("--list-backups");
    expect(text.stdout).not.toContain("NOT RESTORABLE");
    const back = await ship("--rollback", id);
    expect(back.code, back.stderr).toBe(0);
    expect(await readdir(app.appDir)).toEqual([]);
    // It said "(2 backup(s) restored)" and no more: that beta's update went with it was unsaid.
    expect(back.stdout).toContain(
      "(2 backup(s) restored, beta's update to 5.0.0 among them: source beta fills this app_dir too)",
    );
  });

  it("alpha's refusals name beta, whose update put the installed version there", async () => {
    // "release 1.0.0 is older than the installed 5.0.0": a version the operator never gave alpha.
    const note = `the installed 5.0.0 (source beta installed it; it fills ${app.appDir} too)`;
    const run = await ship("--sources", "alpha");
    expect(run.code).toBe(2);
    expect(run.stdout + run.stderr).toContain(`release 1.0.0 is older than ${note}`);
    const check = await ship("--sources", "alpha", "--check-only");
    expect(check.code).toBe(2);
    expect(check.stdout).toContain(`release 1.0.0 is older than ${note}`);
    expect(await readFile(join(app.appDir, "common.txt"), "utf8")).toBe("beta 5\n");
  });

  it("alpha's update killed half-way is undone by beta's next run, which settles alpha's state and runs alpha's rollback commands once", async () => {
    const hooks = join(app.root, "hooks.log");
    await app.release(
      "a2",
      `version: "2.0.0"\nhooks:\n  rollback:\n    - sh -c 'echo undo-2 >> ${hooks}'\n`,
      { "a.txt": "a2\n", "common.txt": "alpha 2\n" },
    );
    await twoSources("a2");
    const killed = await runShip(["--config", app.config, "--sources", "alpha", "--allow-downgrade"], {
      env: { SHIP_FAULT: "apply:file@1" },
    });
    expect(killed.code).toBeNull();
    const beta = await ship("--sources", "beta");
    expect(beta.code, beta.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "common.txt"), "utf8")).toBe("beta 5\n");
    // alpha's state kept its pending update: `--recover` then said "update to 2.0.0 was interrupted;
    // the app's files were not changed" and ran alpha's rollback commands only then.
    const alpha = (await app.state()).sources.alpha;
    expect(alpha).toMatchObject({ current_version: "5.0.0", last_result: "failed_restored" });
    expect(alpha?.pending_update).toBeUndefined();
    expect(await readFile(hooks, "utf8")).toBe("undo-2\n");
    const recover = await ship("--recover");
    expect(recover.code, recover.stderr).toBe(0);
    expect(recover.stdout).toBe("alpha: nothing to recover\n");
    expect(await readFile(hooks, "utf8")).toBe("undo-2\n");
  });

  it("a gap in the app directory's chain (beta's backup deleted by hand) is NOT RESTORABLE in the listing, as --rollback refuses it", async () => {
    // Found as the operator finds it: beta's one backup, by hand.
    const [beta] = (await readdir(join(app.root, "var/backups/beta"))).filter(
      (name) => name.startsWith("beta-") && !name.includes("."),
    );
    expect(beta).toBeDefined();
    await rm(join(app.root, "var/backups/beta", beta ?? ""), { recursive: true });
    const alpha = (await listed("--sources", "alpha")).find((b) => b.source === "alpha");
    expect(alpha?.restorable).toBe(false);
    // Named whose update it was: beta's, not alpha's whose backup the operator picked.
    expect(alpha?.notRestorable).toContain(
      "has no backup that undoes the installed 5.0.0 (source beta installed it)",
    );
    const back = await ship("--rollback", alpha?.id ?? "");
    expect(back.code).toBe(2);
    expect(back.stderr).toContain("has no backup that undoes the installed 5.0.0 (source beta installed it)");
    expect(await readFile(join(app.appDir, "common.txt"), "utf8")).toBe("beta 5\n");
  });
});
