/**
 * What `ship-hub serve`'s start promises. Once it prints its listening line a SIGTERM stops it
 * cleanly. It starts through a V8 code cache as the remote and token commands do (its own
 * bundle, bundle/serve-<hash>.cjs, key "serve"): the cache is written once a start listens, not by a
 * start refused before it (that cache would hold the flag and config checks alone), and the next
 * start uses it as it is. On a copy of the CLI, so no other test's cache is in the way.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyCliWithoutCaches } from "../../support/cli-copy.js";
import { HUB_BIN, requireHubBin } from "../../support/hub-cli.js";

const REPO = resolve(dirname(HUB_BIN), "../../..");

let root: string;
let cli: string;
let config: string;
beforeAll(async () => {
  requireHubBin();
  root = await mkdtemp(join(tmpdir(), "ship-serve-cache-"));
  // The layout the hub finds its dashboard in: package.json above the bundle, the assets beside it.
  cli = join(root, "dist/hub/cli");
  await copyCliWithoutCaches(HUB_BIN, cli);
  await cp(join(REPO, "package.json"), join(root, "package.json"));
  await symlink(join(REPO, "dashboard"), join(root, "dashboard"));
  await symlink(join(REPO, "dist/dashboard"), join(root, "dist/dashboard"));
  // better-sqlite3 (native, left out of the bundle) loads from node_modules, found above the bundle.
  await symlink(join(REPO, "node_modules"), join(root, "node_modules"));
  config = join(root, "hub.toml");
  await writeFile(config, `host = "127.0.0.1"\nport = 0\ndata_dir = "${root}/data"\nlog_level = "warn"\n`);
  await mkdir(join(root, "data"), { mode: 0o700 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `ship-hub serve ARGS` from the copy, stopped by SIGTERM once it listens (if it does). */
function serve(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      [join(cli, "main.js"), "serve", "--config", config, ...args],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NODE_OPTIONS: "", SHIP_HUB_DATABASE_URL: "", SHIP_HUB_SECRET: "" },
      },
    );
    const stuck = setTimeout(() => child.kill("SIGKILL"), 60_000);
    let stdout = "";
    let stderr = "";
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      // At once: the line says the hub serves, and stops cleanly (exit 0) on SIGTERM.
      if (stdout.includes("listening on")) child.kill("SIGTERM");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(stuck);
      done({ code, stdout, stderr });
    });
  });
}

async function serveCache(): Promise<string | undefined> {
  const name = (await readdir(join(cli, "bundle"))).find((f) => /^serve-.*\.cjs\.serve\.v8cache$/.test(f));
  return name === undefined ? undefined : join(cli, "bundle", name);
}

describe("ship-hub serve's code cache", () => {
  it("is written by a start that listens, not by a refused start, and used by the next start", async () => {
    const refused = await serve("--port", "70000");
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain("--port");
    expect(await serveCache()).toBeUndefined();

    const first = await serve();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^ship-hub listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    const cache = await serveCache();
    expect(cache).toBeDefined();
    const written = await stat(cache ?? "", { bigint: true });
    // A start's compile: the server, the store and the libraries, not the checks alone.
    expect(written.size).toBeGreaterThan(500_000n);

    // Used, not rewritten: the same file, untouched; the hub serves as before.
    const second = await serve();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("listening on");
    expect(second.stderr).not.toContain("WARNING");
    const after = await stat(cache ?? "", { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([written.ino, written.mtimeNs]);
  }, 120_000);
});

describe("ship-hub serve's listening line", () => {
  it("is printed once a SIGTERM stops the hub cleanly: a stop sent at once exits 0, every time", async () => {
    // A supervisor or script that waits for the line and then stops the hub: the signal came before
    // the handlers and killed it by Node's default (143), with no shutdown (agents not marked offline).
    for (let i = 0; i < 6; i++) {
      const run = await serve();
      expect(run.stdout).toContain("listening on");
      expect(run.code, `start ${i}: ${run.stderr}`).toBe(0);
    }
  }, 120_000);
});
