#!/usr/bin/env node
// Bundles the agent CLI (`ship`) with esbuild after tsc has type-checked and compiled everything.
// Why: Node 20 loads ESM module by module, and zod alone is ~240 files; resolving, reading and
// linking them cost more than Node's own start. One bundle split at each lazy `import()` keeps
// every path loading only what it runs (`ship --help`: commander and the entry; `--rollback`: no
// source client, no planner), each in a few files.
//
// Layout: dist/agent/cli/main.js (the bin) is a small stub that turns source maps on and then
// imports bundle/ship.js, so every chunk — the entry's too — gets stack traces that name the .ts
// sources. Libraries with native or optional native parts, network clients other than undici (the
// http(s) source's) and anything not listed in BUNDLED stay external: they load from node_modules as before, only when their path runs.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildCachedBundle as cachedBundle } from "./cached-bundle.mjs";
import { englishOnlyZod, externalUnlessBundled } from "./cli-bundle-plugins.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "dist/agent/cli");
const bundleDir = join(outDir, "bundle");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/**
 * Pure-JavaScript libraries on the CLI's start-up paths, with their own dependencies; every other
 * package our code imports stays external.
 */
export const BUNDLED = ["commander", "zod", "smol-toml", "yaml", "minimatch", "pino", "tar", "undici"];

/**
 * pino loads `worker_threads` and `assert` as it starts, for what ship's CLI never does: transports
 * (thread-stream runs them in a Worker), the main-thread check that only asynchronous destinations
 * consult (the CLI's logger writes synchronously: agent/cli/logger.ts), and sonic-boom's one assert,
 * in close(). Loading those two built-ins was ~8 ms of CPU of every code-cached command here, as much
 * as the rest of pino. In the code-cached bundles only: thread-stream is left out (a transport
 * throws), pino is told it runs in the main thread (the bin loads these bundles into the main
 * thread, shared/cli/code-cache.ts; nothing starts them in a Worker), and `assert` loads when it is called.
 */
const PINO_SHIMS = {
  "thread-stream":
    'module.exports = class ThreadStream { constructor() { throw new Error("pino transports are not in ship\'s CLI bundle"); } };',
  worker_threads: "exports.isMainThread = true;",
  assert: 'module.exports = (value, message) => require("node:assert")(value, message);',
};
const pinoWithoutWorkers = {
  name: "pino-without-workers",
  setup(b) {
    b.onResolve({ filter: /^(thread-stream|worker_threads|assert)$/ }, (args) =>
      /[\\/]node_modules[\\/](pino|sonic-boom|thread-stream)[\\/]/.test(args.importer)
        ? { path: args.path, namespace: "pino-without-workers" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "pino-without-workers" }, (args) => ({
      contents: PINO_SHIMS[args.path],
      loader: "js",
    }));
  },
};

/** esbuild options both bundles share. */
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [externalUnlessBundled(BUNDLED), englishOnlyZod],
  // The bundle lives one level deeper than shared/version.js: it is told the version instead.
  define: { __SHIP_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "warning",
};

rmSync(bundleDir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { ship: join(root, "agent/cli/main.ts") },
  splitting: true,
  format: "esm",
  outdir: bundleDir,
  chunkNames: "[name]-[hash]",
  sourcemap: "linked",
  sourcesContent: false,
  // Bundled CommonJS (commander, pino) calls require(); ESM has none of its own.
  banner: {
    js: 'import { createRequire as __shipCreateRequire } from "node:module"; const require = __shipCreateRequire(import.meta.url);',
  },
});

/**
 * In the restore bundle, the modes the bin never sends there: every lazy import the CLI's own modules
 * make (agent/cli/*.ts: the mode table and `ship release`'s actions) other than --rollback's and
 * --list-backups' becomes a module that fails if it ever runs; what those two load stays. Without them the bundle holds what
 * those two commands use and not the update pipeline, the sources, tar, yaml, minimatch…: less to
 * read, and a smaller code cache to deserialize, on every rollback. The CLI (its options, help,
 * checks) is the same one: only what its actions load differs.
 */
const RESTORE_MODES = ["./commands/rollback.js", "./commands/list-backups.js"];
const restoreModesOnly = {
  name: "restore-modes-only",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "dynamic-import" &&
      dirname(args.importer) === join(root, "agent/cli") &&
      !RESTORE_MODES.includes(args.path)
        ? { path: args.path, namespace: "not-in-restore-bundle" }
        : undefined,
    );
    // The code shared/cli/not-in-bundle.ts looks for: the bin then runs the whole CLI (an option's
    // value that reads like a mode, `--config --rollback`, sent an update run here).
    b.onLoad({ filter: /.*/, namespace: "not-in-restore-bundle" }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not in the restore bundle (the bin sends only --rollback, --list-backups, --help and --version to it)`)}), { code: "SHIP_NOT_IN_BUNDLE" });`,
      loader: "js",
    }));
  },
};

/**
 * A rollback reaches undici only to post a webhook notification: in the restore bundle it stays a
 * package loaded from node_modules when that happens, so every rollback does not read ~0.7 MB more.
 */
const undiciExternal = {
  name: "undici-external",
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** The same CLI as a code-cached CommonJS file (scripts/cached-bundle.mjs). */
const buildCachedBundle = (name, entry, extraPlugins, sourceMapped = false) =>
  cachedBundle({
    common,
    name,
    entry: join(root, entry),
    outdir: bundleDir,
    plugins: [...extraPlugins, pinoWithoutWorkers],
    sourceMapped,
  });
// The update run: the whole CLI. --rollback and --list-backups: the restore bundle.
// The restore bundle's entry is the CLI itself, not quick.ts: zod (its JIT turned off by the two
// commands' own first import) then loads only when one of them runs, never for `--help`.
const quickFile = await buildCachedBundle("quick", "agent/cli/quick.ts", []);
const restoreFile = await buildCachedBundle("restore", "agent/cli/cli.ts", [
  restoreModesOnly,
  undiciExternal,
]);
// `ship agent`: the whole CLI with zod's JIT left on (a daemon parses every hub message of its life
// with the same schemas) and a source map, through which code-cache.ts maps its stack traces.
const agentFile = await buildCachedBundle("agent", "agent/cli/cli.ts", [], true);
// Code caches are made on the machine that runs ship (V8 version, flags): never packed.
writeFileSync(join(bundleDir, ".npmignore"), "*.v8cache\n*.tmp\n");

// The code-cache loader as CommonJS, for the bin below (tsc's dist/shared/cli/code-cache.js is an ES
// module, which CommonJS cannot require in Node 20).
await build({
  ...common,
  entryPoints: { "code-cache": join(root, "shared/cli/code-cache.ts") },
  format: "cjs",
  outdir: bundleDir,
  outExtension: { ".js": ".cjs" },
});

// The bin, dist/agent/cli/main.cjs: CommonJS, because an ES module entry costs the ES module loader's
// start (~10 ms of CPU here, an eighth of a rollback beyond Node's own start). Every command but
// `ship agent` runs a CommonJS bundle with a code cache, unless source maps are wanted:
// `--rollback`, `--list-backups`, `--help` and `--version` (issue 11: within 2× of `node -e 0`) the
// restore bundle (keys "rollback", "list-backups", "help", "version"); the update run (`ship [--force]
// [--check-only] …`, what the timer runs; key "run"), the checks (`--test-manifest`,
// `--check-requirements`, `--test-conditionals`, `--check-rollout`), `--approve`, `--recover` and
// `ship release` the whole CLI's, each with its own key (the mode's name). Those six and `release`
// imported the ES module chunks with source maps until round 48 (~0.2–0.3 s of CPU each, against
// ~0.2 s for a whole update run), for no reason of their own: the run's bundle holds them, and they
// print every error in one line as the run does (agent/cli/cli.ts). `--help` from the ES module
// chunks imported them as ES modules, and Node builds an ES module facade of every built-in they
// import, which for `fs` loads the whole streams stack (~14 ms of CPU). A word of the whole CLI's
// modes sends even the restore bundle's words to the whole CLI; a word the bin took for a restore
// mode that was an option's value instead (`--config --help`) reaches a mode the restore bundle
// leaves out, which hands the command back before doing anything (shared/cli/not-in-bundle.ts), and
// the bin runs the ES module bundle. None of the cached commands prints a stack trace: every error
// becomes one line. `ship agent` runs its own CommonJS bundle (key "agent"): the whole CLI with zod's
// JIT on, since the daemon parses every hub message of its life with the same schemas, and with its
// stack traces mapped to the .ts sources (code-cache.ts), which a daemon logs for weeks. Its start
// from the ES module chunks compiled everything anew, ~0.5 s of CPU against ~0.25 s through the
// cache. Its cache is written once a started daemon first announced itself to the hub, or at its
// end if it never did (exit 0, or 75 for an edited ship.toml: it was written at a clean stop only,
// and a daemon under systemd mostly ends otherwise, so its starts stayed cold), so a start refused at
// the config does not leave a cache of the config reader alone; with --verbose or Node's source maps forced on
// it runs the ES module chunks, as every command does.
const stub = `#!/usr/bin/env node
// Generated by scripts/build-agent-cli.mjs: the CLI itself is bundle/ship.js (and bundle/${quickFile},
// bundle/${restoreFile}, bundle/${agentFile}).
"use strict";
const args = process.argv.slice(2);
const verbose = args.includes("--verbose") || args.includes("-v");
const whole = ["release", "--test-manifest", "--check-requirements", "--test-conditionals", "--check-rollout",
  "--approve", "--recover"];
const restore = ["--rollback", "--list-backups", "--help", "-h", "--version"];
const daemon = args.includes("agent");
// The first word of the whole CLI's wins: \`ship release publish --notes --recover\` is release's.
const cached = daemon
  ? "agent"
  : args.find((a) => whole.includes(a)) ?? restore.find((a) => args.includes(a)) ?? "--run";
// Node reads and parses every loaded chunk's source map up front (~20 ms): help and version, which
// print no stack, go without unless --verbose.
const wholeCli = () => {
  if (verbose || !["--help", "-h", "--version"].some((a) => args.includes(a))) process.setSourceMapsEnabled(true);
  import("./bundle/ship.js");
};
if (!verbose && !process.sourceMapsEnabled) {
  const { runCachedCli } = require("./bundle/code-cache.cjs");
  if (daemon)
    runCachedCli(\`\${__dirname}/bundle/${agentFile}\`, "agent", process.argv, {
      sourceMapped: true,
      // Written by a started daemon only: not by a start refused at the config, nor by another
      // command holding the word (\`--test-manifest agent\`). Once it announced itself to the hub,
      // or else at its end, whichever way it ends (exit 75 for an edited ship.toml too); never
      // for a bundle an upgrade replaced meanwhile (code-cache.ts).
      settleEarly: (cli, settle) => cli.whenDaemonUp(settle),
      settleAfter: (code, cli) => cli.daemonStarted() === true,
    }).then((code) => {
      process.exitCode = code;
    });
  else runQuick(runCachedCli);
} else wholeCli();

function runQuick(runCachedCli) {
  const quick = !restore.includes(cached);
  const bundle = quick ? "${quickFile}" : "${restoreFile}";
  // One cache per command, made by its first run: help's would hold only what --version compiled
  // when \`ship --version\` (an install script's check) ran first.
  const key = cached === "-h" ? "help" : cached.replace(/^--/, "");
  runCachedCli(\`\${__dirname}/bundle/\${bundle}\`, key, process.argv).then((code) => {
    if (code === undefined) wholeCli();
    // The whole CLI's commands may leave work pending (an update run's, a recovery's): Node ends
    // them as the ES module bundle's did.
    else if (quick) process.exitCode = code;
    // The restore bundle's commands have nothing left to run once they return (the lock released,
    // the cache written, a big trash's rm detached): exiting skips Node's teardown of the heap, ~10 ms
    // of CPU of a listing (21 alternating runs). After what is already queued (a closed stdout's
    // EPIPE still ends the command with 0), never for the whole CLI's, whose work may still be pending.
    // Only once stdout and stderr have handed every byte to their pipes: a write to a pipe its reader
    // has not emptied waits in the stream, and exiting dropped it (a listing of 1,500 damaged
    // backups read through '| less' stopped after 64 KiB of its 350).
    else Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => process.exit(code));
  });
}

/** Resolves once the stream holds nothing unwritten (written, or failed: a reader gone, EPIPE). */
function flushed(stream) {
  return new Promise((done) => {
    if (stream.writableLength === 0) return done();
    stream.once("error", done);
    // Nothing is written after this: the stream ends once what it holds is written.
    stream.end(done);
  });
}
`;
writeFileSync(join(outDir, "main.cjs"), stub, { mode: 0o755 });
// The bin's path before it was CommonJS, which systemd units written for older releases still name.
writeFileSync(
  join(outDir, "main.js"),
  `#!/usr/bin/env node
// Generated by scripts/build-agent-cli.mjs: the bin is main.cjs; this path is kept for older units.
import { createRequire } from "node:module";
createRequire(import.meta.url)("./main.cjs");
`,
  { mode: 0o755 },
);
rmSync(join(outDir, "main.js.map"), { force: true });
