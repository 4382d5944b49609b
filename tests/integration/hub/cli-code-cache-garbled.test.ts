/**
 * README (Development): a code cache is used "only if the bundle's owner wrote it ... (anything else
 * in its place, garbled bytes, a directory or a FIFO, only costs the cache)". A cache whose header
 * is intact but whose V8 payload has a few bytes changed (a bad disk block, a stray write) is handed
 * to V8 as is: V8 (release builds skip the payload checksum) aborts the process ("Fatal error …
 * unreachable code", SIGTRAP, or SIGSEGV), on every later run too, until someone deletes the file.
 * The copy of the hub CLI lives in a temporary directory so that no other test meets the garbled cache.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyCliWithoutCaches } from "../../support/cli-copy.js";

const DIST_CLI = resolve(import.meta.dirname, "../../../dist/hub/cli");
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-hub-garbled-cache-"));
  await writeFile(join(root, "package.json"), '{"type":"module"}\n');
  await copyCliWithoutCaches(join(DIST_CLI, "main.js"), root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `ship-hub rollout show abcd` against a port nobody listens on: exit 1, a connection error. */
function showOnDeadHub() {
  return spawnSync(
    process.execPath,
    [join(root, "main.js"), "rollout", "show", "abcd", "--hub", "http://127.0.0.1:1"],
    { encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_OPTIONS: "", SHIP_HUB_TOKEN: "x.y.z" } },
  );
}

describe("a garbled code cache of ship-hub's remote bundle", () => {
  it("only costs the cache: the command runs as without one", async () => {
    const first = showOnDeadHub();
    expect(first.status).toBe(1);
    const bundleDir = join(root, "bundle");
    const cacheName = (await readdir(bundleDir)).find((f) => f.endsWith(".rollout-show.v8cache"));
    expect(cacheName).toBeDefined();
    const cache = join(bundleDir, cacheName ?? "");
    const good = await readFile(cache);
    for (const offset of [200, 50_000, Math.floor(good.length * 0.95)]) {
      const bad = Buffer.from(good);
      bad.fill(0xff, offset, offset + 8);
      await writeFile(cache, bad, { mode: 0o644 });
      const run = showOnDeadHub();
      expect({
        offset,
        status: run.status,
        signal: run.signal,
        fatal: /Fatal error/.test(run.stderr),
      }).toEqual({
        offset,
        status: 1,
        signal: null,
        fatal: false,
      });
    }
  }, 120_000);
});
