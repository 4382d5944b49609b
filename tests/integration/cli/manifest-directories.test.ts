/**
 * `directories` keys that name no directory inside the app (absolute, `..`, the app itself) are bad
 * input, like such `files` patterns. Before, they were accepted and applied to nothing: an operator
 * who wrote `"/srv/app/uploads": {preserve: true}` had uploads/ unprotected, and the release's
 * uploads/ files replaced the users' ones.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
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
    // Keys are matched as paths, segment by segment: a glob or an odd spelling matched no path, so
    // the release's uploads/photo.jpg replaced the user's under a rule that read as protecting it.
    [
      "uploads/*",
      /directories\."uploads\/\*": is a path, not a glob \("\*" matches nothing here\); write "uploads" to cover everything in it$/m,
    ],
    ["uploads/**", /directories\."uploads\/\*\*": is a path, not a glob .*write "uploads" to cover/m],
    [
      "upload?",
      /directories\."upload\?": is a path, not a glob \("\?" matches nothing here\); write the directory's own name$/m,
    ],
    [
      "{uploads,media}",
      /directories\."\{uploads,media\}": is a path, not a glob \("\{" matches nothing here\)/m,
    ],
    ["+(uploads)", /directories\."\+\(uploads\)": is a path, not a glob \("\+\(" matches nothing here\)/m],
    ["data//uploads", /directories\."data\/\/uploads": matches no path as written; write "data\/uploads"$/m],
    ["uploads/./", /directories\."uploads\/\.\/": matches no path as written; write "uploads"$/m],
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

  it("a cleanup.remove_directories glob, which removed nothing, is refused the same way", async () => {
    const manifest = `version: "1.0.0"\ncleanup:\n  remove_directories: ["legacy/*"]\n`;
    const release = await app.release("r1", manifest, { "app.txt": "v1\n" });
    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(2);
    expect(checked.stderr).toMatch(
      /update-manifest\.yaml:3:24 cleanup\.remove_directories\[0\]: is a path, not a glob \("\*" matches nothing here\); write "legacy" to cover everything in it$/m,
    );
  });

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

  it("a protected directory the app lacks is seeded from the release; once it exists it is the user's", async () => {
    // Before: data/ and logs/ were never created, not even on a first install (an app that writes
    // logs/app.log failed on its first start).
    const manifest = (v: string) =>
      `version: "${v}"\ndirectories:\n  data: { preserve: true }\n  logs: { preserve: true }\n  data/users: { preserve: true }\n`;
    await app.release("r1", manifest("1.0.0"), {
      "app.txt": "v1\n",
      "data/seed.db": "seed v1\n",
      "data/nested/x": "x\n",
      "logs/.gitkeep": "",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    expect(await readFile(join(app.appDir, "data/seed.db"), "utf8")).toBe("seed v1\n");
    expect(await readFile(join(app.appDir, "data/nested/x"), "utf8")).toBe("x\n");
    expect(await readFile(join(app.appDir, "logs/.gitkeep"), "utf8")).toBe("");

    // The user's from now on: edits, deletions and additions stay; the release's changes, new
    // files (a protected directory nested in an existing one too) and new protected directories
    // that already exist are never written.
    await writeFile(join(app.appDir, "data/seed.db"), "the user's rows\n");
    await rm(join(app.appDir, "logs/.gitkeep"));
    await writeFile(join(app.appDir, "data/mine"), "mine\n");
    await mkdir(join(app.appDir, "uploads"));
    await writeFile(join(app.appDir, "uploads/photo.jpg"), "the user's\n");
    await app.release(
      "r2",
      `${manifest("2.0.0")}  uploads: { preserve: true }\n  media: { preserve: true }\n`,
      {
        "app.txt": "v2\n",
        "data/seed.db": "seed v2\n",
        "data/new": "new\n",
        "data/users/admin": "admin\n",
        "logs/.gitkeep": "",
        "uploads/photo.jpg": "release's\n",
        "media/.gitkeep": "",
      },
    );
    const second = await runShip(["--config", app.config]);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect(await readFile(join(app.appDir, "data/seed.db"), "utf8")).toBe("the user's rows\n");
    expect(await readdir(join(app.appDir, "data"))).toEqual(["mine", "nested", "seed.db"]);
    expect(await readdir(join(app.appDir, "logs"))).toEqual([]);
    expect(await readFile(join(app.appDir, "uploads/photo.jpg"), "utf8")).toBe("the user's\n");
    // A protected directory this release adds, which the app lacks, is seeded.
    expect(await readdir(join(app.appDir, "media"))).toEqual([".gitkeep"]);

    // Rolling back to before the first install takes out what ship installed and nothing of the user's.
    const backups = (await readdir(join(app.root, "var/backups/myapp"))).sort();
    const back = await runShip(["--config", app.config, "--rollback", backups[0] as string]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect((await readdir(app.appDir)).sort()).toEqual(["data", "uploads"]);
    expect((await readdir(join(app.appDir, "data"))).sort()).toEqual(["mine", "seed.db"]);
    expect(await readFile(join(app.appDir, "data/seed.db"), "utf8")).toBe("the user's rows\n");
  });
});
