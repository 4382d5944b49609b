/**
 * A broken archive served over HTTP, as an operator meets it through `ship`: the one-line reason
 * names the URL (never the download's internal file name) and, for an HTML page or another archive
 * format (zip, bzip2, …), says so; exit 2,
 * the app unchanged and nothing left in staging — whether the archive is extracted as it arrives or, after a restart the server
 * forced by ignoring Range, from the complete file.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileRoute } from "../../support/servers/file-routes.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const routes = new Map<string, FileRoute>();
const server = fileServerForFile(routes);
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-http-bad-archive-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const good = gzipSync(
  buildTar([
    { path: "myapp/", type: "Directory" },
    { path: "myapp/update-manifest.yaml", body: 'version: "2.0.0"\n' },
    { path: "myapp/big.txt", body: "x".repeat(200_000) },
  ]),
);

const cases: Array<{ name: string; body: Buffer; restart?: boolean; reason: RegExp }> = [
  {
    name: "truncated",
    body: good.subarray(0, Math.floor(good.length / 2)),
    reason: /not a valid tar archive/,
  },
  {
    // A login or error page a server answered 200 with: said so, not "unrecognized archive format".
    name: "html-page",
    body: Buffer.from("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n"),
    reason:
      /not a valid tar archive: it is an HTML or XML page \(a login, error or listing page\?\), not an archive$/,
  },
  // Another archive format, known by its first bytes: named, with what ship reads and the way out.
  {
    name: "zip",
    body: Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]), Buffer.alloc(600, 7)]),
    reason:
      /not a valid tar archive: it is a zip archive; ship reads tar archives, gzip-compressed or not \(\.tar\.gz, \.tgz, \.tar\): repack it with tar -czf$/,
  },
  {
    name: "bzip2",
    body: Buffer.concat([Buffer.from("BZh91AY&SY"), Buffer.alloc(600, 3)]),
    reason: /not a valid tar archive: it is bzip2-compressed \(\.bz2\); ship reads tar archives/,
  },
  // 0 bytes (an upload that wrote nothing): said so, not tar's "Unrecognized archive format".
  {
    name: "empty",
    body: Buffer.alloc(0),
    reason: /not a valid tar archive: it is empty \(0 bytes\): an upload or copy that wrote nothing\?$/,
  },
  // A tar of its end blocks alone (`tar -czf x.tar.gz -T /dev/null`): said so, not "Unrecognized
  // archive format", which sent operators looking for damage.
  {
    name: "empty-tar",
    body: gzipSync(Buffer.alloc(10240)),
    reason:
      /release\.tar\.gz: is an empty tar archive: no entries at all, not even update-manifest\.yaml \(packed from an empty directory or file list\?\)$/,
  },
  // Any other bytes: tar's own words, without its TAR_BAD_ARCHIVE code.
  {
    name: "not-gzip",
    body: Buffer.from("just some text\n"),
    reason: /not a valid tar archive: Unrecognized archive format$/,
  },
  {
    name: "truncated-restarted",
    body: good.subarray(0, Math.floor(good.length / 2)),
    restart: true,
    reason: /not a valid tar archive/,
  },
];

describe("`ship` with a broken .tar.gz over http", () => {
  for (const c of cases) {
    it(`${c.name}: exit 2, one line naming the URL, app and staging untouched`, async () => {
      const base = join(root, c.name);
      await mkdir(join(base, "app"), { recursive: true });
      await writeFile(join(base, "app/main.txt"), "v1\n");
      const path = `/${c.name}/release.tar.gz`;
      routes.set(path, {
        body: c.body,
        etag: '"r1"',
        ...(c.restart === true ? { honorRange: false, cutTimes: 1, cutAfter: 100 } : {}),
      });
      const config = join(base, "ship.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${base}/var/state.json"\nbackup_dir = "${base}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.web]\ntype = "http"\nurl = "${server.url}${path}"\napp_dir = "${base}/app"\n`,
      );
      const run = await runShip(["--config", config]);
      expect(run.code, run.stderr).toBe(2);
      const lines = run.stdout.trim().split("\n");
      expect(lines, run.stdout).toHaveLength(1);
      expect(lines[0]).toContain(`${server.url}${path}`);
      expect(lines[0]).toMatch(c.reason);
      expect(run.stdout + run.stderr).not.toContain(".artifact");
      expect(await readdir(join(base, "app"))).toEqual(["main.txt"]);
      expect(await readFile(join(base, "app/main.txt"), "utf8")).toBe("v1\n");
      const work = await readdir(join(base, "var/work")).catch(() => []);
      for (const name of work) expect(await readdir(join(base, "var/work", name)), name).toEqual([]);
    });
  }
});
