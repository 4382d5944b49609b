/**
 * Under [trust], a release archive whose update-manifest.yaml is a directory was refused as
 * "[trust] keys are configured but the release has no update-manifest.yaml", the name right there
 * in it: the signature check took any failure to read it for a missing file. It reads it as the
 * manifest loader does, so the refusal says what is wrong with it: exit 2, nothing installed.
 * Real `ship` runs, a local .tar.gz release. And a [trust] whose only key is misspelt is refused.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { writeArchive } from "../../unit/sources/tar-builder.js";
import { localArchiveApp, signedArchive } from "./signed-archive.js";

let root: string;
let trust: string;
let signed: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-trust-manifest-dir-"));
  ({ trust, archive: signed } = await signedArchive(root));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("[trust]: a release whose update-manifest.yaml is a directory", () => {
  it("is refused naming the manifest as a directory, never as missing; nothing installed", async () => {
    const archive = await writeArchive(root, "myapp-2.0.0.tar.gz", [
      { path: "update-manifest.yaml/", type: "Directory" },
      { path: "update-manifest.yaml/x.txt", body: "x\n" },
      { path: "app.txt", body: "app 2.0.0\n" },
    ]);
    const { config, app } = await localArchiveApp(join(root, "run"), archive, trust);
    const run = await runShip(["--config", config]);
    const said = run.stdout + run.stderr;
    expect(run.code, said).toBe(2);
    expect(said).toMatch(/update-manifest\.yaml.*is a directory/);
    expect(said).not.toContain("has no update-manifest.yaml");
    expect(await readdir(app)).toEqual([]);
  });
});

describe("[trust] whose key is misspelt", () => {
  // A warning ("unknown key …; ignored") and then every release installed unverified, unsigned too:
  // the table meant to require signatures checked none.
  it.each([
    ["key_file", "key_files"],
    ["Keys", "keys"],
  ])("%s with no other key is exit 2 naming it, nothing installed", async (typo, key) => {
    const unsigned = await writeArchive(root, `unsigned-${typo}.tar.gz`, [
      { path: "update-manifest.yaml", body: 'version: "2.0.0"\n' },
      { path: "app.txt", body: "app 2.0.0\n" },
    ]);
    const { config, app } = await localArchiveApp(
      join(root, `typo-${typo}`),
      unsigned,
      trust.replace("key_files", typo),
    );
    const run = await runShip(["--config", config]);
    const said = run.stdout + run.stderr;
    expect(run.code, said).toBe(2);
    expect(said).toContain(
      `ship.toml:12:1 trust.${typo}: unknown key "${typo}" (did you mean "${key}"?), and [trust] names no key without it: no release would be verified; correct the name, or remove [trust] to install unsigned releases`,
    );
    expect(await readdir(app)).toEqual([]);
  });

  it("a misspelt [Trust] table holding key_files is exit 2 naming it, nothing installed", async () => {
    const unsigned = await writeArchive(root, "unsigned-table.tar.gz", [
      { path: "update-manifest.yaml", body: 'version: "2.0.0"\n' },
      { path: "app.txt", body: "app 2.0.0\n" },
    ]);
    const { config, app } = await localArchiveApp(
      join(root, "typo-table"),
      unsigned,
      trust.replace("[trust]", "[Trust]"),
    );
    const run = await runShip(["--config", config]);
    const said = run.stdout + run.stderr;
    expect(run.code, said).toBe(2);
    expect(said).toContain(
      `ship.toml:11:2 Trust: unknown key "Trust" (did you mean "trust"?), and no [trust] names a key: no release would be verified; correct the name, or remove it to install unsigned releases`,
    );
    expect(await readdir(app)).toEqual([]);
  });

  it("beside a key that is named, stays a warning: the signed release installs", async () => {
    const { config, app } = await localArchiveApp(
      join(root, "typo-beside"),
      signed,
      `${trust}allow_downgrades = true\n`,
    );
    const run = await runShip(["--config", config]);
    const said = run.stdout + run.stderr;
    expect(run.code, said).toBe(0);
    expect(said).toContain(
      'trust.allow_downgrades: unknown key "allow_downgrades" (did you mean "allow_downgrade"?); ignored',
    );
    expect(await readdir(app)).toEqual(["app.txt"]);
  });
});
