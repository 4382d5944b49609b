/**
 * A file the operator gave to the app's user (`chown app:app config.yml`) and that the release
 * replaces: as root, the new version was root's 0644 and an app running as `app` could no longer
 * write it (or read it, with a 0640 release). Now it keeps the replaced file's owner and group and
 * takes the release's mode, as a merge keeps them (merged-file-owner.test.ts), and `--rollback`
 * brings back the old file with its owner. Real `ship` runs, as root (ship can give a file away only then).
 */
import { chmod, chown, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const asRoot = process.getuid?.() === 0;

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

async function meta(rel: string) {
  const s = await stat(join(app.appDir, rel));
  return { mode: (s.mode & 0o7777).toString(8), uid: s.uid, gid: s.gid };
}

describe.skipIf(!asRoot)("a replaced file keeps its owner and group (real CLI, as root)", () => {
  it("through an update and back through --rollback; the mode is the release's", async () => {
    await app.release("r1", 'version: "1.0.0"\n', { "config.yml": "a: 1\n", "other.txt": "1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await chown(join(app.appDir, "config.yml"), 1234, 4321);
    await chmod(join(app.appDir, "config.yml"), 0o660);
    const dir = await app.release("r2", 'version: "2.0.0"\n', { "config.yml": "a: 2\n", "other.txt": "2\n" });
    await chmod(join(dir, "config.yml"), 0o640);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config.yml"), "utf8")).toBe("a: 2\n");
    expect(await meta("config.yml")).toEqual({ mode: "640", uid: 1234, gid: 4321 });
    // A file nobody gave away stays ship's.
    expect(await meta("other.txt")).toMatchObject({ uid: 0, gid: 0 });

    const [backup] = JSON.parse((await runShip(["--config", app.config, "--list-backups", "--json"])).stdout);
    const back = await runShip(["--config", app.config, "--rollback", backup.id]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await meta("config.yml")).toEqual({ mode: "660", uid: 1234, gid: 4321 });
  });
});
