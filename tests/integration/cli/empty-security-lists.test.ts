/**
 * A security list given empty. `[trust] key_files = []` (or `keys = []`), the section that says
 * "refuse releases CI did not sign", required no signature at all: the run installed an unsigned
 * release, exit 0, without a word. `allowed_file_types = []` was taken, then every release was
 * refused at its first file ("file type not in allowed_file_types ()"). Both are bad input when
 * read: exit 2 naming the key, nothing installed. `[trust]` with only `allow_downgrade` stays valid.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp | undefined;
afterEach(async () => {
  await app?.cleanup();
});

async function unsignedRelease(configExtra: string): Promise<LocalApp> {
  app = await localApp(configExtra);
  await app.release("v1", 'version: "1.0.0"\n', { "app.py": "print('v1')\n" });
  return app;
}

describe("an empty security list in ship.toml", () => {
  it.each([
    ["[trust]\nkey_files = []\n", "trust.key_files", "no key could check a release's signature"],
    ["[trust]\nkeys = []\nkey_files = []\n", "trust.keys", "no key could check a release's signature"],
    [
      "[sources.myapp.security]\nallowed_file_types = []\n",
      "sources.myapp.security.allowed_file_types",
      "allows no file",
    ],
  ])(
    "%s is exit 2 naming the key, and nothing is installed",
    async (extra, key, said) => {
      const local = await unsignedRelease(extra);
      const run = await runShip(["--config", local.config]);
      expect(run.code, run.stderr).toBe(2);
      const line = run.stderr.split("\n").find((l) => l.includes(key));
      expect(line, run.stderr).toContain(said);
      expect(line).toContain(local.config);
      expect(await readdir(local.appDir)).toEqual([]);
    },
    60_000,
  );

  it("[trust] with only allow_downgrade still installs an unsigned release", async () => {
    const local = await unsignedRelease("[trust]\nallow_downgrade = true\n");
    const run = await runShip(["--config", local.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readdir(local.appDir)).toEqual(["app.py"]);
  }, 60_000);
});

describe("an empty allowed_file_types in a manifest", () => {
  it("is refused by --test-manifest, exit 2 naming the key", async () => {
    const local = await unsignedRelease("");
    const manifest = join(local.root, "update-manifest.yaml");
    await writeFile(manifest, 'version: "1.0.0"\nsecurity:\n  allowed_file_types: []\n');
    const check = await runShip(["--test-manifest", manifest]);
    expect(check.code, check.stdout).toBe(2);
    expect(check.stderr).toContain(`${manifest}:3:3 security.allowed_file_types:`);
    expect(check.stderr).toContain("allows no file");
  }, 60_000);
});
