/**
 * The files a source keeps between runs (its metadata: what it last installed; the local directory's
 * stat index; a local archive's remembered sha256) with a FIFO in their place: each read opened it
 * blocking and the run waited for a writer for ever (the stat index's synchronous read froze the whole
 * process). They are read by the rule for ship's own records: the metadata, which decides what is
 * installed, is `… is damaged, it is not a file`, exit 2, nothing changed; a cache is only a cache,
 * read as absent, and the run installs. Real CLI runs.
 */
import { execFileSync } from "node:child_process";
import { lstat, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FINE_RACY_MS } from "../../../agent/tree/racy-rule.js";
import type { FileRoute } from "../../support/servers/file-routes.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
const routes = new Map<string, FileRoute>();
const server = fileServerForFile(routes);

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

/** Every file under `dir`, by path. */
async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else found.push(path);
  }
  return found;
}

/** The one file of the source's state whose name ends with `suffix`, replaced by a FIFO. */
async function fifoInPlaceOf(suffix: string): Promise<string> {
  const [file, ...more] = (await filesUnder(join(app.root, "var", "sources"))).filter((f) =>
    f.endsWith(suffix),
  );
  if (file === undefined || more.length > 0)
    throw new Error(`not one ${suffix}: ${[file, ...more].join(", ")}`);
  await rm(file);
  execFileSync("mkfifo", [file]);
  return file;
}

async function installed(version: string, files = { "app.txt": `v${version}\n` }): Promise<void> {
  await app.release(`r${version}`, `version: "${version}.0.0"\n`, files);
  const run = await runShip(["--config", app.config], { timeoutMs: 20_000 });
  expect(run.code, run.stdout + run.stderr).toBe(0);
}

describe("a source's own records that are FIFOs (real CLI)", () => {
  // The local source decides from the install index; its metadata is recorded once the update is in,
  // where the FIFO held the finished run (and its lock) for ever.
  it("the metadata (what the source last installed): the update installs and says the record is damaged, no hang", async () => {
    await installed("1");
    const metadata = await fifoInPlaceOf("myapp.json");
    await app.release("r2", 'version: "2.0.0"\n', { "app.txt": "v2\n" });
    const run = await runShip(["--config", app.config], { timeoutMs: 20_000 });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toContain(
      `${metadata} is damaged, it is not a file: ship's record of what each source last installed`,
    );
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
  }, 60_000);

  it("an http source's metadata (its ETag): its check refuses, exit 2 naming it, nothing changed", async () => {
    const src = await app.release("src", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    const archive = join(app.root, "r.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", src, "."]);
    routes.set("/r.tar.gz", { body: await readFile(archive), etag: '"v1"' });
    const http = `type = "http"\nurl = "${server.url}/r.tar.gz"`;
    await writeFile(
      app.config,
      (await readFile(app.config, "utf8")).replace(/type = "local"\npath = ".*"/, http),
    );
    const first = await runShip(["--config", app.config], { timeoutMs: 20_000 });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const metadata = await fifoInPlaceOf("myapp.json");
    const run = await runShip(["--config", app.config], { timeoutMs: 20_000 });
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    expect(run.stdout).toContain(`${metadata} is damaged, it is not a file`);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  }, 60_000);

  it("the local directory's stat index: read as absent, the update installs, the index is a file again", async () => {
    await installed("1");
    const index = await fifoInPlaceOf("stat-index");
    await installed("2");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect((await lstat(index)).isFile()).toBe(true);
  }, 60_000);

  it("a local archive's remembered sha256: read as absent, the archive is read again (up to date)", async () => {
    const src = await app.release("src", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    const archive = join(app.root, "r.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", src, "."]);
    // A hash read within the racy window of the archive's write is not remembered (archive-hash-cache.ts):
    // on a quiet machine the first run started inside it and left no record for the FIFO to replace.
    const settled = (await lstat(archive)).ctimeMs + FINE_RACY_MS + 50 - Date.now();
    if (settled > 0) await sleep(settled);
    const config = (await readFile(app.config, "utf8")).replace(`path = "${src}"`, `path = "${archive}"`);
    await writeFile(app.config, config);
    const first = await runShip(["--config", app.config], { timeoutMs: 20_000 });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await fifoInPlaceOf("archive-hash.json");
    const run = await runShip(["--config", app.config], { timeoutMs: 20_000 });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toContain("up to date (1.0.0)");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  }, 60_000);
});
