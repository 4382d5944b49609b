/**
 * A local `path` to a file that is no tar ship reads (a .zip, a bzip2 or xz tar, an empty file, an
 * HTML page saved by a browser) said only "myapp: r.zip: not a valid tar archive: …", naming neither
 * the config nor its key nor where the file is. It now names `CONFIG sources.myapp.path: PATH: …`,
 * exit 2, one line, the app untouched. And a manifest error of a local archive named the staging
 * copy (gone when the run ends); it is named inside the archive, `ARCHIVE!update-manifest.yaml`,
 * as `ship release sign` names it. Real CLI runs, archives made by zip, bzip2, xz and GNU tar.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import type { FileRoute } from "../../support/servers/file-routes.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";

const routes = new Map<string, FileRoute>();
const server = fileServerForFile(routes);

let root: string;
let config: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-local-archive-named-"));
  await mkdir(join(root, "app"));
  await mkdir(join(root, "src"));
  await writeFile(join(root, "src", "update-manifest.yaml"), 'version: "1.0.0"\n');
  await writeFile(join(root, "src", "app.txt"), "v1\n");
  await writeFile(join(root, "app", "mine.txt"), "operator's\n");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** ship.toml with source `myapp` taking its releases from `where` (a local path, or an http url). */
async function configFor(where: string): Promise<void> {
  config = join(root, "ship.toml");
  const source = where.startsWith("http://")
    ? `type = "http"\nurl = "${where}"`
    : `type = "local"\npath = "${where}"`;
  await writeFile(
    config,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
      `[sources.myapp]\n${source}\napp_dir = "${root}/app"\n`,
  );
}

const made: [string, string, (path: string) => Promise<void>, string][] = [
  [
    "a zip",
    "r.zip",
    async (path) => void execFileSync("zip", ["-qr", path, "."], { cwd: join(root, "src") }),
    "it is a zip archive; ship reads tar archives, gzip-compressed or not (.tar.gz, .tgz, .tar): repack it with tar -czf",
  ],
  [
    "a bzip2 tar",
    "r.tar.bz2",
    async (path) => void execFileSync("tar", ["-cjf", path, "-C", join(root, "src"), "."]),
    "it is bzip2-compressed (.bz2); ship reads tar archives",
  ],
  [
    "an empty file",
    "r.tar.gz",
    async (path) => writeFile(path, ""),
    "it is empty (0 bytes): an upload or copy that wrote nothing?",
  ],
  [
    "an HTML page",
    "r.tar.gz",
    async (path) => writeFile(path, "<!DOCTYPE html>\n<html><body>Sign in</body></html>\n"),
    "it is an HTML or XML page (a login, error or listing page?), not an archive",
  ],
];

describe.skipIf(!hasProgram("zip") || !hasProgram("bzip2"))(
  "a local archive ship cannot read (real CLI)",
  () => {
    it.each(made)(
      "%s: exit 2 naming the config key and the path, app untouched",
      async (_what, name, make, says) => {
        const path = join(root, name);
        await make(path);
        await configFor(path);
        const run = await runShip(["--config", config]);
        expect(run.code, run.stdout + run.stderr).toBe(2);
        const lines = run.stdout.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`${config} sources.myapp.path: ${path}: not a valid tar archive: ${says}`);
        expect(await readdir(join(root, "app"))).toEqual(["mine.txt"]);
      },
    );
  },
);

describe("an archive whose manifest is refused (real CLI)", () => {
  it.each(["local", "http"])(
    "%s: names ARCHIVE!update-manifest.yaml:LINE:COL, not the staging copy",
    async (kind) => {
      await writeFile(join(root, "src", "update-manifest.yaml"), 'version: "1.0.0"\nfiles: [\n');
      const archive = join(root, "r.tar.gz");
      execFileSync("tar", ["-czf", archive, "-C", join(root, "src"), "."]);
      routes.set("/r.tar.gz", { body: await readFile(archive) });
      const where = kind === "local" ? archive : `${server.url}/r.tar.gz`;
      await configFor(where);
      const run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout).toContain(`${where}!update-manifest.yaml:`);
      expect(run.stdout + run.stderr).not.toContain(".staging");
      expect(await readdir(join(root, "app"))).toEqual(["mine.txt"]);
    },
  );
});

describe("an archive without a manifest where require_manifest = true (real CLI)", () => {
  it("names ARCHIVE!update-manifest.yaml, not the staging copy", async () => {
    await rm(join(root, "src", "update-manifest.yaml"));
    const archive = join(root, "r.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", join(root, "src"), "."]);
    await configFor(archive);
    await writeFile(config, `${await readFile(config, "utf8")}require_manifest = true\n`);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain(
      `${archive}!update-manifest.yaml the release has no update-manifest.yaml and require_manifest = true`,
    );
    expect(run.stdout + run.stderr).not.toContain(".staging");
    expect(await readdir(join(root, "app"))).toEqual(["mine.txt"]);
  });
});
