/**
 * The remote commands (`rollout …`, `agents …`) load only what they run: no server, store or
 * database library. Not a timing test: the built CLI runs against a real hub with a module tracer
 * preloaded, every module file it loads is listed, and a bundle loaded stands for the modules it
 * holds (a code-cached CommonJS bundle: the module paths esbuild names in it; an ES module chunk:
 * the sources its map names). express, better-sqlite3, postgres, ws or hub/store coming back onto
 * `rollout list` fails here, wherever it comes from.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HUB_BIN, requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { canaryThenRest, startTestHub, type TestAgent, type TestHub } from "./support.js";

const TRACER = fileURLToPath(new URL("../../support/module-trace.mjs", import.meta.url));
const BUILTIN_TRACER = fileURLToPath(new URL("../../support/builtin-trace.cjs", import.meta.url));
const BUNDLE_DIR = join(dirname(HUB_BIN), "bundle");

/** What a remote command must never load: the server, the store and their libraries. */
const SERVER_SIDE = ["express", "better-sqlite3", "postgres", "ws", "prom-client", "jsonwebtoken"];
const SERVER_SOURCES = /hub\/(store\/|server\.ts|state\.ts|ws\/|api\/|engine\/)/;

let t: TestHub;
beforeAll(async () => {
  requireHubBin();
  t = await startTestHub();
}, 60_000);
// A running rollout of web to two online agents, set up by the first test that needs it (it polls
// the hub, which only a test may).
let running: Promise<{ id: string; agents: TestAgent[] }> | undefined;
async function rollout(): Promise<string> {
  running ??= canaryThenRest(t);
  return (await running).id;
}
afterAll(async () => {
  for (const agent of (await running)?.agents ?? []) agent.ws.terminate();
  await t?.stop();
});

/**
 * The module files `ship-hub ARGS` loaded, and the modules behind them: node_modules paths and
 * our .ts files, as bundles and source maps name them.
 */
async function modulesLoaded(
  args: string[],
  { env = {}, remote = true }: { env?: Record<string, string>; remote?: boolean } = {},
): Promise<{ code: number | null; files: string[]; modules: string[] }> {
  const trace = join(t.dir, `trace-${Math.random().toString(36).slice(2)}.txt`);
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(
      process.execPath,
      ["--import", TRACER, HUB_BIN, ...args, ...(remote ? ["--hub", t.hub.url] : [])],
      {
        cwd: t.dir,
        env: { ...process.env, SHIP_HUB_TOKEN: t.operator, ...env, SHIP_MODULE_TRACE: trace },
        stdio: "ignore",
      },
    );
    child.on("error", fail);
    child.on("close", done);
  });
  const files = [...new Set((await readFile(trace, "utf8")).split("\n").filter((l) => l !== ""))];
  await rm(trace, { force: true });
  const modules: string[] = [];
  for (const file of files) {
    modules.push(file);
    if (file.endsWith(".js") && existsSync(`${file}.map`)) {
      const map = JSON.parse(await readFile(`${file}.map`, "utf8")) as { sources: string[] };
      for (const source of map.sources) modules.push(resolve(dirname(file), source));
    }
    // The code-cache loader runs the remote bundle, which the checks below look into.
    if (file === join(BUNDLE_DIR, "code-cache.cjs"))
      modules.push(...(await bundledModules(await bundleNamed("remote"))));
  }
  return { code, files, modules };
}

/**
 * The modules esbuild wrapped in a CommonJS bundle, by the path it names each with. A package's path
 * leads wherever node_modules is (a symlinked node_modules, as in a git worktree, gives
 * "../../main/node_modules/ws/…"): each is given from its node_modules/ on.
 */
async function bundledModules(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8");
  return [...text.matchAll(/"((?:\.\.\/)*(?:[\w.@-]+\/)*[\w.@-]+\.(?:[cm]?js|ts|json))"/g)].map((m) =>
    (m[1] ?? "").replace(/^(?:\.\.\/)*(?:[^/]+\/)*?node_modules\//, "node_modules/"),
  );
}

const libraries = (modules: string[]) =>
  new Set(
    modules.flatMap((s) => {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(s);
      return match?.[1] === undefined ? [] : [match[1]];
    }),
  );

async function bundleNamed(prefix: string): Promise<string> {
  const name = (await readdir(BUNDLE_DIR)).find((f) => f.startsWith(`${prefix}-`) && f.endsWith(".cjs"));
  expect(name, `bundle/${prefix}-*.cjs`).toBeDefined();
  return join(BUNDLE_DIR, name ?? "");
}

describe("what the hub CLI's remote commands load (built CLI, real hub)", () => {
  const commands: [string[], number][] = [
    [["rollout", "list"], 0],
    [["rollout", "list", "--json"], 0],
    [["rollout", "show", "ROLLOUT"], 0],
    [["agents"], 0],
    // Refused: web's rollout is running (exit 2, as that create would exit).
    [["rollout", "create", "--app", "web", "--version", "2.0.0", "--preview"], 2],
    [["rollout", "abort", "no-such-rollout"], 2],
  ];

  it.each(commands)(
    "ship-hub %j: one code-cached bundle, no server, store or database library",
    async (words, exit) => {
      const id = await rollout();
      const args = words.map((w) => (w === "ROLLOUT" ? id : w));
      const { code, files, modules } = await modulesLoaded(args);
      expect(code, args.join(" ")).toBe(exit);
      // The bin and the cache loader, which reads the remote bundle (a file, not a module) and the
      // command's cache: no ES module chunk, nothing from node_modules.
      expect(files.filter((f) => f.includes("/node_modules/"))).toEqual([]);
      expect(files.filter((f) => f.startsWith(BUNDLE_DIR))).toEqual([join(BUNDLE_DIR, "code-cache.cjs")]);
      const key = words[0] === "agents" ? "agents" : `${words[0]}-${words[1]}`;
      expect(existsSync(`${await bundleNamed("remote")}.${key}.v8cache`), key).toBe(true);
      const libs = libraries(modules);
      for (const lib of SERVER_SIDE) expect(libs, lib).not.toContain(lib);
      expect(modules.filter((m) => SERVER_SOURCES.test(m))).toEqual([]);
    },
  );

  it("rollout list over plain http loads neither http2 nor tls, https or crypto (undici's HTTP/2 client, the proxy probe)", async () => {
    const trace = join(t.dir, "builtins.txt");
    // Not spawnSync: the hub runs in this process and must answer meanwhile.
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn(
        process.execPath,
        ["-r", BUILTIN_TRACER, HUB_BIN, "rollout", "list", "--hub", t.hub.url],
        {
          cwd: t.dir,
          env: { ...process.env, SHIP_HUB_TOKEN: t.operator, SHIP_BUILTIN_TRACE: trace },
          stdio: "ignore",
        },
      );
      child.on("error", fail);
      child.on("close", done);
    });
    expect(code).toBe(0);
    const builtins = (await readFile(trace, "utf8")).split("\n");
    expect(builtins).toContain("vm"); // the code-cached path ran
    for (const name of ["http2", "tls", "https", "crypto", "child_process"])
      expect(builtins, name).not.toContain(name);
  });

  it("with source maps wanted (the ES module chunks) rollout list loads none of them either", async () => {
    const { code, files, modules } = await modulesLoaded(["rollout", "list"], {
      env: { NODE_OPTIONS: "--enable-source-maps" },
    });
    expect(code).toBe(0);
    expect(files.some((f) => f.startsWith(BUNDLE_DIR) && f.endsWith(".js"))).toBe(true);
    const libs = libraries(modules);
    for (const lib of [...SERVER_SIDE, "zod", "yaml"]) expect(libs, lib).not.toContain(lib);
    expect(modules.filter((m) => SERVER_SOURCES.test(m))).toEqual([]);
  });

  it("the remote bundle holds no server, store or database code; the token bundle no HTTP client", async () => {
    const remote = await bundledModules(await bundleNamed("remote"));
    expect(remote).toContain("hub/cli/remote-commands.ts");
    for (const lib of SERVER_SIDE) expect(libraries(remote), lib).not.toContain(lib);
    expect(remote.filter((m) => SERVER_SOURCES.test(m))).toEqual([]);
    // undici's dispatchers and request, not its fetch, WebSocket, caches or mocks.
    expect(
      remote.filter((m) =>
        /node_modules\/undici\/lib\/(web\/(fetch\/index|websocket|cache)|cache|mock)\b/.test(m),
      ),
    ).toEqual([]);
    const token = await bundledModules(await bundleNamed("token"));
    expect(token).toContain("hub/cli/token.ts");
    for (const lib of ["undici", "express", "ws"]) expect(libraries(token), lib).not.toContain(lib);
    expect(token.filter((m) => /hub\/(server\.ts|cli\/remote-commands\.ts)/.test(m))).toEqual([]);
  });

  it("each command's cache is made once and then used as it is", async () => {
    const list = () =>
      runHubCli(t.dir, ["rollout", "list", "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    expect((await list()).code).toBe(0);
    const cache = `${await bundleNamed("remote")}.rollout-list.v8cache`;
    expect(existsSync(cache)).toBe(true);
    // Used, not rewritten (a refused cache is written anew after the run). Other test files run
    // ship-hub at the same time; one may have started before the cache existed.
    let unchanged = false;
    for (let attempt = 0; attempt < 3 && !unchanged; attempt++) {
      const before = await stat(cache, { bigint: true });
      expect((await list()).code).toBe(0);
      const after = await stat(cache, { bigint: true });
      unchanged = before.ino === after.ino && before.mtimeNs === after.mtimeNs;
    }
    expect(unchanged).toBe(true);
  });

  it("--version loads nothing but the bin; help loads no bundle's cache and is the same with source maps on", async () => {
    const version = await modulesLoaded(["--version"], { remote: false });
    expect(version.files.filter((f) => f.startsWith(BUNDLE_DIR) || f.includes("/node_modules/"))).toEqual([]);
    expect((await runHubCli(t.dir, ["--version"])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    // Help runs the ES module entry chunk (~65 KB): cheaper than the remote bundle and a cache.
    for (const args of [["--help"], ["rollout", "list", "--help"]]) {
      const help = await modulesLoaded(args, { remote: false });
      expect(help.code).toBe(0);
      expect(help.files.filter((f) => f.endsWith(".cjs") || f.includes("/node_modules/"))).toEqual([]);
    }
    const help = await runHubCli(t.dir, ["serve", "--help"]);
    const mapped = await runHubCli(t.dir, ["serve", "--help"], { NODE_OPTIONS: "--enable-source-maps" });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: ship-hub serve");
    expect(mapped).toEqual(help);
  });
});
