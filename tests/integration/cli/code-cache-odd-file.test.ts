/**
 * Whatever sits where a quick command's code cache goes (dist/agent/cli/bundle/*.v8cache) only
 * costs the cache: a FIFO there must not hang `ship --list-backups` on opening it (it did: the
 * open blocked waiting for a writer), and the run replaces it with a real cache.
 */
import { execFileSync, spawn } from "node:child_process";
import { lstat, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHIP_BIN } from "../../support/ship-cli.js";

let root: string;
let config: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-cache-odd-"));
  config = join(root, "ship.toml");
  await writeFile(
    config,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n\n` +
      `[sources.app]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/app"\n`,
  );
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `ship ARGS`, killed after `ms` (a hang is the failure this file is about). */
function runWithin(args: string[], ms: number): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHIP_BIN, ...args], { stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

describe("a code cache path that is not a regular file", () => {
  it("a FIFO where --list-backups' cache goes: the command runs, and the FIFO is replaced by a cache", async () => {
    const bundleDir = join(dirname(SHIP_BIN), "bundle");
    const bundle = (await readdir(bundleDir)).find((f) => /^restore-.*\.cjs$/.test(f));
    expect(bundle).toBeDefined();
    const cache = join(bundleDir, `${bundle ?? ""}.list-backups.v8cache`);
    await rm(cache, { force: true });
    execFileSync("mkfifo", [cache]);
    try {
      const run = await runWithin(["--config", config, "--list-backups"], 30_000);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("no backups in");
      // Another test file's run may have replaced it first; either way no FIFO is left.
      expect((await lstat(cache)).isFIFO()).toBe(false);
    } finally {
      if ((await lstat(cache).catch(() => undefined))?.isFIFO() === true) await rm(cache, { force: true });
    }
  }, 60_000);
});
