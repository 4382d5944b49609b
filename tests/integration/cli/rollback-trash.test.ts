/**
 * What `ship --rollback` takes out of the app is freed by the app's next run, not while the operator
 * waits (agent/backup/trash.ts): the rollback starts no `rm`, and a later run — even one that finds
 * nothing to update — empties the trash.
 */
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pathExists } from "../../../agent/tree/fs-ops.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("ship --rollback leaves what it took out to the app's next run", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("starts no rm, and a run with nothing to update empties the trash", async () => {
    const v1 = { "app.txt": "one\n", "lib/a.txt": "a1\n" };
    await app.release("v1.0.0", 'version: "1.0.0"\n', v1);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2.0.0", 'version: "2.0.0"\n', {
      "app.txt": "two\n",
      "lib/a.txt": "a2\n",
      "new.txt": "n\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string | null;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    // An rm first on PATH that leaves a mark if anything runs it.
    const bin = join(app.root, "bin");
    const ran = join(app.root, "rm-ran");
    await mkdir(bin);
    await writeFile(join(bin, "rm"), `#!/bin/sh\necho "$@" >> '${ran}'\nexec /bin/rm "$@"\n`);
    await chmod(join(bin, "rm"), 0o755);
    const rollback = await runShip(["--config", app.config, "--rollback", toV1?.id ?? ""], {
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
    expect(await pathExists(join(app.appDir, "new.txt"))).toBe(false);
    const trash = join(app.root, "var/backups/myapp/.trash");
    expect((await readdir(trash, { recursive: true })).length).toBeGreaterThan(0);
    expect(await pathExists(ran)).toBe(false);

    // The source offers 1.0.0 again: nothing to update, and the trash goes all the same.
    await app.release("v1.0.0", 'version: "1.0.0"\n', v1);
    const check = await runShip(["--config", app.config]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("one\n");
    expect(await pathExists(trash)).toBe(false);
  });
});
