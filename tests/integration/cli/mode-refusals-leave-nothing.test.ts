/**
 * `ship --approve`, `ship --recover` and `ship --rollback` refused for bad input leave ship's
 * directories as they found them (README "Nothing changed on exit 2"), as a refused update run
 * does: a damaged state file, the approval of the version already installed, a backup id that is
 * not there, each left a log file and its directory made for the refusal, `locks/`, or a
 * re-stamped state directory. Real CLI.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { treeListing } from "../../support/tree-listing.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("--approve, --recover and --rollback refused for bad input (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  /** The release, with its log file in `log/` (not there yet): all of it under the watched root. */
  async function release(): Promise<void> {
    await app.release("r1", 'version: "1.0.0"\n');
    const text = await readFile(app.config, "utf8");
    await writeFile(
      app.config,
      text.replace(
        "[sources.myapp]",
        `[general.logging]\nfile = "${app.root}/log/ship.log"\n\n[sources.myapp]`,
      ),
    );
  }

  async function expectRefused(args: string[], says: RegExp): Promise<void> {
    const before = await treeListing(app.root);
    const run = await runShip(["--config", app.config, ...args]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toMatch(says);
    // A refusal may append its line to a log file that was there (README): its size and mtime move.
    const logged = (tree: Record<string, string>) =>
      before["log/ship.log"] === undefined ? tree : { ...tree, "log/ship.log": "appended to" };
    expect(logged(await treeListing(app.root))).toEqual(logged(before));
  }

  it.each([["--approve", "myapp", "2.0.0"], ["--recover"], ["--rollback", "myapp-20260101T000000Z"]])(
    "%s with a damaged state file on a host that never ran ship: exit 2, no log, locks/ or timestamp left",
    async (...args) => {
      await release();
      await mkdir(join(app.root, "var"));
      await writeFile(app.stateFile, "{broken");
      await expectRefused(args, /state\.json is damaged, it is not valid JSON|holds no backup with id/);
    },
  );

  it("--approve of the version installed: exit 2, the state directory as it was", async () => {
    await release();
    const installed = await runShip(["--config", app.config]);
    expect(installed.code, installed.stderr).toBe(0);
    await expectRefused(["--approve", "myapp", "1.0.0"], /myapp runs 1\.0\.0 already/);
  });

  it("--rollback of a backup id that is not there, on a host that never ran ship: exit 2, no log left", async () => {
    await release();
    await expectRefused(
      ["--rollback", "myapp-20260101T000000Z"],
      /holds no backup with id myapp-20260101T000000Z/,
    );
  });

  it("--rollback of an id holding a line break: exit 2 on one line, the id quoted", async () => {
    await release();
    const run = await runShip(["--config", app.config, "--rollback", "myapp-2026\nx"]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    const lines = `${run.stdout}${run.stderr}`.split("\n").filter((l) => l.trim() !== "");
    expect(lines, lines.join("\n")).toEqual([
      expect.stringContaining('holds no backup with id "myapp-2026\\nx"'),
    ]);
  });

  it("--rollback of a backup consumed by the rollback before (twice in a row): exit 2, nothing changed", async () => {
    await release();
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const [backup] = await readdir(join(app.root, "var/backups/myapp"));
    const first = await runShip(["--config", app.config, "--rollback", backup as string]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await expectRefused(["--rollback", backup as string], /holds no backup with id/);
  });
});
