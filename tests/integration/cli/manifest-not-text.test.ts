/**
 * A manifest that is no text: `ship --test-manifest myapp-2.0.0.tar.gz` (the release, for its
 * manifest) said "YAML: Comments must be separated from other tokens by white space characters",
 * and another binary file printed one YAML error per token, hundreds of lines of its bytes. Now one
 * line says what the file is, exit 2; a release whose update-manifest.yaml is such a file is refused
 * the same way, the app untouched. Real CLI, real archives.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const NOT_A_MANIFEST = "not an update manifest (YAML text, update-manifest.yaml at a release's root)";

describe("a manifest file that is not text (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("--test-manifest of a .tar.gz, a .tar or random bytes: one line saying what it is, exit 2", async () => {
    const release = await app.release("v1", 'version: "1.0.0"\n');
    const tgz = join(app.root, "myapp-1.0.0.tar.gz");
    const tar = join(app.root, "myapp-1.0.0.tar");
    await createTar({ gzip: true, file: tgz, cwd: release }, ["."]);
    await createTar({ file: tar, cwd: release }, ["."]);
    const bin = join(app.root, "blob.bin");
    await writeFile(bin, randomBytes(200_000));
    for (const [file, what] of [
      [tgz, "is a gzip file (a release archive?)"],
      [tar, "is a tar archive (a release?)"],
      [bin, "is not UTF-8 text (a binary file?)"],
    ] as const) {
      for (const mode of ["--test-manifest", "--test-conditionals", "--check-rollout"]) {
        const run = await runShip([mode, file, "--config", app.config]);
        expect(run.code, `${mode} ${file}`).toBe(2);
        expect(run.stderr).toBe(`ship: ${file} ${what}, ${NOT_A_MANIFEST}\n`);
      }
    }
    // The manifest itself still loads.
    const ok = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("a release whose update-manifest.yaml is an archive is refused in one line, the app untouched", async () => {
    const v1 = await app.release("v1", 'version: "1.0.0"\n');
    const packed = join(app.root, "v1.tar.gz");
    await createTar({ gzip: true, file: packed, cwd: v1 }, ["."]);
    await app.release("v2", "", { "app.txt": "v2\n" });
    await writeFile(join(app.root, "v2", "update-manifest.yaml"), await readFile(packed));
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe(
      `myapp: ${join(app.root, "v2", "update-manifest.yaml")} is a gzip file (a release archive?), ${NOT_A_MANIFEST}\n`,
    );
    expect(await readdir(app.appDir)).toEqual([]);
  });
});
