/**
 * `permissions.umask` clears bits of group and others, never the owner's. A umask such as "700"
 * was accepted and installed directories mode 000: as a non-root user ship could not put the
 * files into the directories it had just made, and the first install ended "UPDATE FAILED AND
 * RESTORE FAILED — the app needs a person" (exit 3) with a mode-000 directory left in the app;
 * as root it "installed" an app its own user could not read. Such a umask is bad input: exit 2
 * naming the file and key in --test-manifest and a run, the app untouched.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

describe("permissions.umask never masks the owner's bits", () => {
  it.each(["700", "100", "200", "400", "0500", "777"])(
    'umask "%s": exit 2 naming the key in --test-manifest and a run, nothing installed',
    async (umask) => {
      const release = await app.release("r1", `version: "1.0.0"\npermissions:\n  umask: "${umask}"\n`, {
        "app.txt": "one\n",
        "lib/mod.txt": "two\n",
      });
      const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(2);
      expect(checked.stderr).toMatch(
        new RegExp(`:3:3 permissions\\.umask: "${umask}" masks the owner's bits`),
      );
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toMatch(/permissions\.umask: .* masks the owner's bits/);
      expect(await readdir(app.appDir)).toEqual([]);
    },
  );

  // "0777" was told "its first digit must be 0", and its first digit is 0: the digit meant is the
  // owner's, the first of three after the optional leading 0.
  it.each(["0777", "0700", "777", "700"])('umask "%s": the message names the owner digit', async (umask) => {
    const release = await app.release("r1", `version: "1.0.0"\npermissions:\n  umask: "${umask}"\n`, {
      "app.txt": "one\n",
    });
    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(2);
    expect(checked.stderr).toContain(
      "its owner digit (the first of three, after an optional leading 0) must be 0",
    );
    expect(checked.stderr).not.toContain("first digit must be 0");
  });

  it('umask "077" keeps the owner\'s bits: files 600, directories 700', async () => {
    await app.release("r1", 'version: "1.0.0"\npermissions:\n  umask: "077"\n', {
      "app.txt": "one\n",
      "lib/mod.txt": "two\n",
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect((await stat(join(app.appDir, "lib"))).mode & 0o777).toBe(0o700);
    expect((await stat(join(app.appDir, "lib/mod.txt"))).mode & 0o777).toBe(0o600);
  });
});
