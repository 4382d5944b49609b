/**
 * The code cache under the shipped units: the package is root's (/opt/ship), ship runs as user ship,
 * so no cache could be written beside the bundle and every timer run and daemon start compiled the
 * whole bundle. The units give ship a CacheDirectory= (systemd sets $CACHE_DIRECTORY); ship keeps its
 * caches there, and uses one only in a process of the user that wrote it (or of the bundle's owner):
 * a cache is code that runs, and V8 runs a cache made from another source of the same length as that
 * other source. As root, running as nobody; on copies, so no other test's cache is in the way.
 */
import { execFile, spawn } from "node:child_process";
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAndStopAgent } from "../../support/agent-start-stop.js";
import { asRoot, chownToNobody, NOBODY } from "../../support/as-nobody.js";
import { copyCliWithoutCaches } from "../../support/cli-copy.js";
import { SHIP_BIN } from "../../support/ship-cli.js";

const CODE_CACHE = fileURLToPath(new URL("../../../dist/shared/cli/code-cache.js", import.meta.url));
const run = promisify(execFile);
type User = { uid: number; gid: number };
const ROOT_USER: User = { uid: 0, gid: 0 };
const OTHER: User = { uid: 65533, gid: 65533 };

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-cache-dir-"));
  await chmod(root, 0o755); // nobody must reach the package inside, as /opt/ship
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A directory owned by `user` with `mode`: the units' /var/cache/ship, or a worse one. */
async function cacheDir(name: string, user: User, mode: number): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await chown(dir, user.uid, user.gid);
  await chmod(dir, mode);
  return dir;
}

/** A CommonJS "bundle" with enough code for V8 to cache; `word` is what answer() returns. */
function bundleText(word: string): string {
  const helpers = Array.from({ length: 50 }, (_, i) => `function h${i}(x) { return x + ${i}; }`).join("\n");
  return `${helpers}\nexports.answer = () => ${JSON.stringify(word)} + h3(0);\n`;
}

/** Loads `bundle` through the cache in a fresh process as `user`: what answer() returned, and the cache's fate. */
async function load(
  bundle: string,
  user: User,
  cacheDirectory: string,
): Promise<{ answer: string; cache: string }> {
  const script = `
    import { loadWithCodeCache } from ${JSON.stringify(CODE_CACHE)};
    const m = loadWithCodeCache(${JSON.stringify(bundle)}, "run");
    const answer = m.exports.answer();
    m.settle();
    console.log(JSON.stringify({ answer, cache: m.cache() }));`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
    ...user,
    env: { ...process.env, CACHE_DIRECTORY: cacheDirectory },
  });
  return JSON.parse(stdout) as { answer: string; cache: string };
}

/**
 * A cache of `evil` (a source of the same length as the bundle's) under a header naming `bundle`
 * exactly, with a right checksum: what someone who may write where the cache is read could forge.
 */
async function forgedCache(bundle: string, genuine: string, scratch: string): Promise<Buffer> {
  const evil = join(scratch, "quick-EVIL.cjs");
  await writeFile(evil, bundleText("omega"));
  await load(evil, ROOT_USER, scratch);
  const evilCache = await readFile(join(scratch, "quick-EVIL.cjs.run.v8cache"));
  const payload = evilCache.subarray(evilCache.indexOf(10) + 1);
  const real = await readFile(genuine);
  const fields = real.subarray(0, real.indexOf(10)).toString("latin1").split(" ");
  const { crc32 } = await import("node:zlib");
  const sum = `${payload.length} ${crc32(payload).toString(16).padStart(8, "0")}`;
  expect(fields.length).toBeGreaterThan(2);
  expect((await stat(bundle)).size).toBe((await stat(evil)).size);
  return Buffer.concat([Buffer.from(`${fields.slice(0, -2).join(" ")} ${sum}\n`, "latin1"), payload]);
}

describe.skipIf(!asRoot)("code caches in $CACHE_DIRECTORY (tiny bundles, as root and nobody)", () => {
  it("a user's cache serves that user's runs and nobody else's", async () => {
    // The package as install.sh leaves it: root's, in a directory only root may write.
    const pkg = join(root, "pkg");
    await mkdir(pkg, { mode: 0o755 });
    const bundle = join(pkg, "quick-AAAA.cjs");
    await writeFile(bundle, bundleText("alpha"));
    const mine = await cacheDir("nobody-cache", NOBODY, 0o755);
    // An earlier build's cache of the same command: dropped once this build's is written.
    const stale = join(mine, "quick-OLDBUILD.cjs.run.v8cache");
    await writeFile(stale, "an older build's cache\n");
    await chown(stale, NOBODY.uid, NOBODY.gid);

    expect(await load(bundle, NOBODY, mine)).toEqual({ answer: "alpha3", cache: "written" });
    const cache = join(mine, "quick-AAAA.cjs.run.v8cache");
    const made = await stat(cache);
    expect([made.uid, made.mode & 0o777]).toEqual([NOBODY.uid, 0o644]);
    expect(await readdir(mine)).toEqual(["quick-AAAA.cjs.run.v8cache"]);
    expect(await readdir(pkg)).toEqual(["quick-AAAA.cjs"]);
    expect(await load(bundle, NOBODY, mine)).toEqual({ answer: "alpha3", cache: "used" });

    // nobody forges a cache of other code under this bundle's header. nobody's own runs may take
    // it (nobody could run that code anyway); root's must not, whatever CACHE_DIRECTORY says.
    const forged = await forgedCache(bundle, cache, await mkdtemp(join(root, "scratch-")));
    await writeFile(cache, forged);
    expect(await load(bundle, NOBODY, mine)).toEqual({ answer: "omega3", cache: "used" });
    expect(await load(bundle, ROOT_USER, mine)).toEqual({ answer: "alpha3", cache: "written" });
    // Root's cache went beside the bundle (root's directory), nobody's file left as it was.
    expect(await readdir(pkg)).toContain("quick-AAAA.cjs.run.v8cache");
    expect(await readFile(cache)).toEqual(forged);
  });

  it("never takes a cache another user wrote, nor a cache directory others may write", async () => {
    const pkg = join(root, "pkg2");
    await mkdir(pkg, { mode: 0o755 });
    const bundle = join(pkg, "quick-BBBB.cjs");
    await writeFile(bundle, bundleText("alpha"));
    const scratch = await mkdtemp(join(root, "scratch-"));
    const genuineDir = await cacheDir("genuine", NOBODY, 0o755);
    await load(bundle, NOBODY, genuineDir);
    const forged = await forgedCache(bundle, join(genuineDir, "quick-BBBB.cjs.run.v8cache"), scratch);

    // Written by another unprivileged user into nobody's directory (as root could leave it): ignored, replaced.
    const mine = await cacheDir("nobody-other-writer", NOBODY, 0o755);
    const planted = join(mine, "quick-BBBB.cjs.run.v8cache");
    await writeFile(planted, forged);
    await chown(planted, OTHER.uid, OTHER.gid);
    expect(await load(bundle, NOBODY, mine)).toEqual({ answer: "alpha3", cache: "written" });
    expect((await stat(planted)).uid).toBe(NOBODY.uid);

    // A directory everyone may write (even nobody's own, even with nobody's file in it): not used
    // at all, and nothing is written into it.
    for (const mode of [0o777, 0o1777, 0o775]) {
      const open = await cacheDir(`open-${mode.toString(8)}`, NOBODY, mode);
      const file = join(open, "quick-BBBB.cjs.run.v8cache");
      await writeFile(file, forged);
      await chown(file, NOBODY.uid, NOBODY.gid);
      expect(await load(bundle, NOBODY, open)).toEqual({ answer: "alpha3", cache: "unwritable" });
      expect(await readFile(file)).toEqual(forged);
    }
    // Someone else's directory: nobody writes the cache neither there nor beside root's bundle.
    const others = await cacheDir("others", OTHER, 0o755);
    expect(await load(bundle, NOBODY, others)).toEqual({ answer: "alpha3", cache: "unwritable" });
    expect(await readdir(others)).toEqual([]);
  });
});

describe.skipIf(!asRoot)("a root-installed ship run as another user, as the units run it", () => {
  let cli: string;
  let cache: string;
  let config: string;
  beforeAll(async () => {
    // The package: root's, as install.sh leaves /opt/ship (no caches from other runs).
    cli = join(root, "opt");
    await copyCliWithoutCaches(SHIP_BIN, cli);
    await symlink(resolve(dirname(SHIP_BIN), "../../../node_modules"), join(root, "node_modules"));
    cache = await cacheDir("var-cache-ship", NOBODY, 0o755);
    // User ship's own: its config, state, app and the release it installs from.
    const home = join(root, "home");
    await mkdir(join(home, "release"), { recursive: true });
    await mkdir(join(home, "app"));
    await mkdir(join(home, "locks"));
    await writeFile(join(home, "release/update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(home, "release/app.txt"), "one\n");
    await writeFile(join(home, "hub.token"), "code-cache-directory-token\n", { mode: 0o600 });
    config = join(home, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${home}/var/state.json"\nbackup_dir = "${home}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${home}/hub.token"\nagent_id = "cached"\n\n` +
        `[sources.app]\ntype = "local"\npath = "${home}/release"\napp_dir = "${home}/app"\n`,
      { mode: 0o600 },
    );
    await chownToNobody(home);
  });

  const env = () => ({
    ...process.env,
    NODE_OPTIONS: "",
    CACHE_DIRECTORY: cache,
    SHIP_HOST_LOCK_DIR: join(root, "home/locks"),
  });

  /** The timer's run (`ship --config …`, cache key `run`) as nobody. */
  async function timerRun(): Promise<{ code: number | null; out: string }> {
    return new Promise((done, reject) => {
      const child = spawn(process.execPath, [join(cli, "main.cjs"), "--config", config, "--force"], {
        ...NOBODY,
        env: env(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      child.stderr.on("data", (chunk) => (out += chunk));
      child.on("error", reject);
      child.on("close", (code) => done({ code, out }));
    });
  }

  /** `ship agent` as nobody, stopped by SIGTERM once it logged its start, as systemctl stop does. */
  function agent(): Promise<{ code: number | null; stderr: string }> {
    return startAndStopAgent(join(cli, "main.cjs"), ["--config", config], { ...NOBODY, env: env() });
  }

  const cacheOf = async (pattern: RegExp) => {
    const name = (await readdir(cache)).find((f) => pattern.test(f));
    return name === undefined ? undefined : stat(join(cache, name), { bigint: true });
  };

  it("the timer's run and the daemon's start write their caches in CACHE_DIRECTORY, and use them", async () => {
    const first = await timerRun();
    expect(first.code, first.out).toBe(0);
    const runCache = await cacheOf(/^quick-.*\.cjs\.run\.v8cache$/);
    expect(runCache?.uid).toBe(BigInt(NOBODY.uid));
    const again = await timerRun();
    expect(again.code, again.out).toBe(0);
    // Used, not rewritten: the same file, untouched.
    const after = await cacheOf(/^quick-.*\.cjs\.run\.v8cache$/);
    expect([after?.ino, after?.mtimeNs]).toEqual([runCache?.ino, runCache?.mtimeNs]);

    expect((await agent()).code).toBe(0);
    const agentCache = await cacheOf(/^agent-.*\.cjs\.agent\.v8cache$/);
    expect(agentCache?.uid).toBe(BigInt(NOBODY.uid));
    const second = await agent();
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('"agent started"');
    const kept = await cacheOf(/^agent-.*\.cjs\.agent\.v8cache$/);
    expect([kept?.ino, kept?.mtimeNs]).toEqual([agentCache?.ino, agentCache?.mtimeNs]);
    // Nothing beside root's bundle.
    expect((await readdir(join(cli, "bundle"))).filter((f) => f.endsWith(".v8cache"))).toEqual([]);
  }, 180_000);
});
