/**
 * Whatever sits where a quick command's code cache goes (dist/agent/cli/bundle/*.v8cache) only
 * costs the cache: a FIFO there must not hang `ship --list-backups` on opening it (it did: the
 * open blocked waiting for a writer), and the run replaces it with a real cache. Nor may a cache
 * whose payload has a few bytes changed (V8 checks only its header) abort Node ("Fatal error",
 * SIGTRAP or SIGSEGV) on that and every later run: that runs on a copy of the CLI in a temporary
 * directory, so that no other test meets the garbled cache.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyCliWithoutCaches } from "../../support/cli-copy.js";
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

describe("a garbled code cache of ship's restore bundle", () => {
  let cli: string;
  beforeAll(async () => {
    cli = join(root, "cli");
    await copyCliWithoutCaches(SHIP_BIN, cli);
    await writeFile(join(cli, "package.json"), '{"type":"module"}\n');
  });

  /** `ship ARGS` from the copy: its exit, signal, output, and whether V8 gave up ("Fatal error"). */
  function ship(args: string[]) {
    const run = spawnSync(process.execPath, [join(cli, "main.cjs"), ...args], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    return {
      status: run.status,
      signal: run.signal,
      fatal: /Fatal error/.test(run.stderr),
      stdout: run.stdout,
    };
  }

  for (const [key, args, expected] of [
    ["help", ["--help"], "--list-backups"],
    ["list-backups", ["--config", "CONFIG", "--list-backups"], "no backups in"],
  ] as const) {
    it(`${args.at(-1)}: damage anywhere in the payload only costs the cache, on every later run too`, async () => {
      const argv = args.map((a) => (a === "CONFIG" ? config : a));
      const first = ship(argv);
      expect(first).toMatchObject({ status: 0, signal: null });
      const bundleDir = join(cli, "bundle");
      const name = (await readdir(bundleDir)).find((f) => f.endsWith(`.${key}.v8cache`));
      expect(name).toBeDefined();
      const cache = join(bundleDir, name ?? "");
      const good = await readFile(cache);
      const damages: [number, number, number][] = [
        [200, 8, 0xff], // the reviewer's cases: 8 bytes of 0xff, 4 KB of zeros, near the end
        [50_000, 4096, 0],
        [Math.floor(good.length * 0.95), 8, 0xff],
        [good.length - 1, 1, good[good.length - 1] === 0 ? 1 : 0], // the very last byte
      ];
      for (const [offset, length, byte] of damages) {
        const bad = Buffer.from(good);
        bad.fill(byte, offset, Math.min(offset + length, bad.length));
        await writeFile(cache, bad, { mode: 0o644 });
        for (const round of ["damaged", "rewritten"]) {
          const run = ship(argv);
          expect({ offset, round, status: run.status, signal: run.signal, fatal: run.fatal }).toEqual({
            offset,
            round,
            status: 0,
            signal: null,
            fatal: false,
          });
          expect(run.stdout).toContain(expected);
        }
      }
      // Cut short: the same.
      await writeFile(cache, good.subarray(0, good.length - 1000), { mode: 0o644 });
      expect(ship(argv)).toMatchObject({ status: 0, signal: null, fatal: false });
    }, 120_000);
  }
});
