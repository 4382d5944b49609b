/**
 * A merged config keeps what the operator gave their copy: a narrower mode (a password behind
 * `chmod 600`) and, when ship runs as root, its owner and group. The release may narrow the mode
 * further, never widen it.
 */
import { chmod, chown, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const manifest = (version: string) => `version: "${version}"\nfiles:\n  config.yaml: {action: merge_yaml}\n`;
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("a merged config's mode and owner", () => {
  let app: LocalApp;
  let file: string;
  beforeEach(async () => {
    app = await localApp();
    file = join(app.appDir, "config.yaml");
  });
  afterEach(() => app.cleanup());

  async function installThenEdit(edit: () => Promise<void>): Promise<void> {
    await app.release("v1", manifest("1.0.0"), { "config.yaml": "db:\n  pass: x\n  pool: 5\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(file, "db:\n  pass: s3cret\n  pool: 5\n");
    await edit();
  }

  it("a chmod 600 stays 600 through a merge that changes the file", async () => {
    await installThenEdit(() => chmod(file, 0o600));
    await app.release("v2", manifest("2.0.0"), { "config.yaml": "db:\n  pass: x\n  pool: 10\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(file, "utf8")).toBe("db:\n  pass: s3cret\n  pool: 10\n");
    // It was 0644, the release's: the password became readable by every user at each update.
    expect(await modeOf(file)).toBe(0o600);
  });

  it("a release that narrows the mode narrows it, also when the merge changes no byte", async () => {
    await installThenEdit(async () => {});
    const v2 = await app.release("v2", manifest("2.0.0"), {
      "config.yaml": "db:\n  pass: x\n  pool: 5\n",
    });
    await chmod(join(v2, "config.yaml"), 0o640);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(file, "utf8")).toBe("db:\n  pass: s3cret\n  pool: 5\n");
    expect(await modeOf(file)).toBe(0o640);
  });

  it.runIf(process.getuid?.() === 0)("as root, the operator's owner and group stay", async () => {
    await installThenEdit(async () => {
      await chown(file, 1000, 1001);
      await chmod(file, 0o640);
    });
    await app.release("v2", manifest("2.0.0"), { "config.yaml": "db:\n  pass: x\n  pool: 10\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const after = await stat(file);
    expect(await readFile(file, "utf8")).toBe("db:\n  pass: s3cret\n  pool: 10\n");
    // It became root's: an app running as uid 1000 could no longer read its own config.
    expect([after.uid, after.gid, after.mode & 0o777]).toEqual([1000, 1001, 0o640]);
  });
});
