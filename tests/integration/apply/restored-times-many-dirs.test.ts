/**
 * A restore puts back the nanosecond times of every directory the update changed, however many: a
 * time Node cannot set (finer than a microsecond) goes through touch(1), run by a few `sh`
 * processes for all of them (exact-mtime.ts), not one program started per directory by ship.
 * Here 450 directories, more than one such batch, each with its own time, after `ship --rollback`.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const run = promisify(execFile);
const DIRS = Array.from({ length: 450 }, (_, i) => `d${String(i).padStart(3, "0")}`);
let app: LocalApp;

/** `%n %.9Y` (path, mtime to the nanosecond) of each directory, as stat prints it. */
async function dirTimes(): Promise<string[]> {
  const { stdout } = await run("stat", ["--format=%n %.9Y", ...DIRS.map((d) => join(app.appDir, d))]);
  return stdout.trim().split("\n");
}

beforeEach(async () => {
  app = await localApp();
  await app.release("r1", 'version: "1.0.0"\n', Object.fromEntries(DIRS.map((d) => [`${d}/f.txt`, "1\n"])));
  expect((await runShip(["--config", app.config])).code).toBe(0);
  // One sh: stamping 450 directories one process at a time is the test's own cost.
  const script = DIRS.map((d, i) => `touch -m -d @${1614834367 + i}.123456789 '${join(app.appDir, d)}'`).join(
    "\n",
  );
  await run("sh", ["-c", script]);
});
afterEach(() => app.cleanup());

describe("a restore of many directories keeps each one's time (real CLI)", () => {
  it("ship --rollback: 450 directories, each to the nanosecond", async () => {
    const before = await dirTimes();
    expect(before[0]).toMatch(/ 1614834367\.123456789$/);
    await app.release(
      "r2",
      'version: "2.0.0"\n',
      Object.fromEntries(
        DIRS.flatMap((d) => [
          [`${d}/f.txt`, "1\n"],
          [`${d}/new.txt`, "2\n"],
        ]),
      ),
    );
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(await dirTimes()).not.toEqual(before);
    const [newest] = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
    }[];
    const undo = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(undo.code, undo.stdout + undo.stderr).toBe(0);
    expect(await dirTimes()).toEqual(before);
  });
});
