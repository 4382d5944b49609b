/**
 * `directories` keys that name no directory inside the app (absolute, `..`, the app itself) are bad
 * input, like such `files` patterns. Before, they were accepted and applied to nothing: an operator
 * who wrote `"/srv/app/uploads": {preserve: true}` had uploads/ unprotected, and the release's
 * uploads/ files replaced the users' ones.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("manifest directories keys", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it.each([
    [
      "APP/uploads",
      /directories\."\S+\/uploads": directories are relative to the app directory; remove the leading \/$/m,
    ],
    ["../uploads", /directories\."\.\.\/uploads": directories must not contain "\.\." segments$/m],
    ["uploads/../..", /directories\."uploads\/\.\.\/\.\.": directories must not contain "\.\." segments$/m],
    [".", /directories\."\.": names the app directory itself; name a directory inside it$/m],
    ["./", /directories\."\.\/": names the app directory itself; name a directory inside it$/m],
  ])(
    "%s: --test-manifest and a run refuse it (exit 2, file:line:column, key), the app untouched",
    async (key, message) => {
      const dir = key.replace("APP", app.appDir);
      const manifest = `version: "1.0.0"\ndirectories:\n  "${dir}": { preserve: true }\n`;
      const release = await app.release("r1", manifest, {
        "app.txt": "v1\n",
        "uploads/photo.jpg": "release's\n",
      });
      await mkdir(join(app.appDir, "uploads"));
      await writeFile(join(app.appDir, "uploads/photo.jpg"), "the user's\n");

      const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(2);
      expect(checked.stdout + checked.stderr).toMatch(
        new RegExp(`update-manifest\\.yaml:3:3 ${message.source}`, "m"),
      );

      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout + run.stderr).toMatch(message);
      expect(await readFile(join(app.appDir, "uploads/photo.jpg"), "utf8")).toBe("the user's\n");
    },
  );

  it("a directory inside the app, written as ./data or data/, is fine and protects it", async () => {
    await app.release("r1", `version: "1.0.0"\ndirectories:\n  ./data/: { preserve: true }\n`, {
      "app.txt": "v1\n",
      "data/seed.txt": "release's\n",
    });
    await mkdir(join(app.appDir, "data"));
    await writeFile(join(app.appDir, "data/seed.txt"), "the user's\n");
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "data/seed.txt"), "utf8")).toBe("the user's\n");
  });
});
