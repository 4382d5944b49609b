#!/usr/bin/env node
// Bundles the hub CLI (`ship-hub`) with esbuild after tsc has type-checked and compiled everything,
// as scripts/build-agent-cli.mjs does the agent's. Why: Node 20 loads ESM module by module; tsc's
// output made every `ship-hub token create` or `rollout list` read and link several hundred files
// (zod alone is ~240), ~0.25 s of CPU beyond Node's own start (0.35 s against 0.1 s for `node -e 0`),
// and `serve` more. One bundle split at each lazy `import()` keeps each command loading only its own
// chunks.
//
// Layout: dist/hub/cli/main.js (the bin, which ship-hub.service names) becomes a small stub that
// turns source maps on and imports bundle/ship-hub.js. Native modules (better-sqlite3) and anything
// not in BUNDLED stay external and load from node_modules as before, only when their path runs.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants as http2Constants } from "node:http2";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildCachedBundle as cachedBundle } from "./cached-bundle.mjs";
import { englishOnlyZod, externalUnlessBundled } from "./cli-bundle-plugins.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "dist/hub/cli");
const bundleDir = join(outDir, "bundle");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** Pure-JavaScript libraries the hub's commands load, with their own dependencies. */
const BUNDLED = [
  "commander",
  "zod",
  "smol-toml",
  "yaml",
  "minimatch",
  "pino",
  "undici",
  "express",
  "ws",
  "jsonwebtoken",
  "postgres",
  "prom-client",
  "string-width",
];

/** Optional native add-ons bundled libraries try to require and go on without (ws's). */
const OPTIONAL_NATIVE = ["bufferutil", "utf-8-validate"];

/** esbuild options both bundles share. */
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [externalUnlessBundled(BUNDLED, OPTIONAL_NATIVE), englishOnlyZod],
  // The bundle lives one level deeper than shared/version.js: it is told the version instead.
  define: { __SHIP_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "warning",
};

rmSync(bundleDir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { "ship-hub": join(root, "hub/cli/main.ts") },
  splitting: true,
  format: "esm",
  outdir: bundleDir,
  chunkNames: "[name]-[hash]",
  sourcemap: "linked",
  sourcesContent: false,
  // Bundled CommonJS (commander, express, ws…) calls require(); ESM has none of its own.
  banner: {
    js: 'import { createRequire as __shipCreateRequire } from "node:module"; const require = __shipCreateRequire(import.meta.url);',
  },
});

/**
 * A code-cached bundle holds one family of commands: each lazy import cli.ts and serve.ts make for
 * another family becomes a module that fails if it ever runs (shared/cli/not-in-bundle.ts: the bin
 * then runs the ES module bundle, which it does for `serve` anyway). `rollout list` then reads no
 * store, token or server code, and a token command no HTTP client: less to read and compile.
 */
const cliModule = join(root, "hub/cli/cli.ts");
const LAZY_IMPORTS = {
  serve: [cliModule, "./serve.js"],
  server: [join(root, "hub/cli/serve.ts"), "../server.js"],
  remote: [cliModule, "./remote-commands.js"],
  create: [cliModule, "./rollout-create.js"],
  token: [cliModule, "./token.js"],
};
function leaveOut(bundle, names) {
  const left = names.map((name) => LAZY_IMPORTS[name]);
  return {
    name: "leave-out-lazy-imports",
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) =>
        args.kind === "dynamic-import" &&
        left.some(([importer, path]) => args.importer === importer && args.path === path)
          ? { path: args.path, namespace: "not-in-bundle" }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: "not-in-bundle" }, (args) => ({
        contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not in the hub CLI's ${bundle} bundle`)}), { code: "SHIP_NOT_IN_BUNDLE" });`,
        loader: "js",
      }));
    },
  };
}

/**
 * undici's index loads all of undici (fetch, WebSocket, caches, mocks, ~0.7 MB bundled) for the two
 * dispatchers and `request` the hub client uses (hub/cli/hub-client.ts, agent/download/dispatcher.ts):
 * in the remote bundle our modules get those from undici's own files. An ES module, so a name our
 * code imports and this leaves out fails the build instead of being undefined at run time.
 * `request` is undici's (index.js makeDispatcher) for what the hub client passes: a URL string and
 * options with a dispatcher and a method.
 */
const SLIM_UNDICI = `
import Dispatcher from "undici/lib/dispatcher/dispatcher";
import api from "undici/lib/api";
import util from "undici/lib/core/util";
import Agent from "undici/lib/dispatcher/agent";
import EnvHttpProxyAgent from "undici/lib/dispatcher/env-http-proxy-agent";
import { getGlobalDispatcher } from "undici/lib/global";
Object.assign(Dispatcher.prototype, api);
export { Agent, Dispatcher, EnvHttpProxyAgent };
export function request(url, opts) {
  const parsed = util.parseURL(url);
  const { dispatcher = getGlobalDispatcher() } = opts;
  return api.request.call(dispatcher, {
    ...opts,
    origin: parsed.origin,
    path: parsed.search ? parsed.pathname + parsed.search : parsed.pathname,
    method: opts.method || (opts.body ? "PUT" : "GET"),
  });
}
`;
const slimUndici = {
  name: "slim-undici",
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, (args) =>
      args.importer.includes(`${sep}node_modules${sep}`)
        ? undefined
        : { path: "undici", namespace: "slim-undici" },
    );
    b.onLoad({ filter: /.*/, namespace: "slim-undici" }, () => ({
      contents: SLIM_UNDICI,
      resolveDir: root,
      loader: "js",
    }));
  },
};

/**
 * Built-ins the remote commands load for what they never do, loaded when it is done instead: undici's
 * HTTP/2 client requires `http2` as it loads (and with it tls and crypto, ~30–50 ms of CPU here),
 * for the HTTP/2 a hub client never asks for (undici's allowH2 is off); agent/download/proxy-tunnel.ts
 * imports `https` for the CONNECT probe only a refused proxy needs. The HTTP/2 constants undici reads
 * as it loads are the header names and error codes of the protocol, the same in every Node.
 */
const HTTP2_CONSTANTS = Object.fromEntries(
  [
    "HTTP2_HEADER_AUTHORITY",
    "HTTP2_HEADER_METHOD",
    "HTTP2_HEADER_PATH",
    "HTTP2_HEADER_SCHEME",
    "HTTP2_HEADER_CONTENT_LENGTH",
    "HTTP2_HEADER_EXPECT",
    "HTTP2_HEADER_STATUS",
    "HTTP2_HEADER_PROTOCOL",
    "NGHTTP2_REFUSED_STREAM",
    "NGHTTP2_CANCEL",
  ].map((name) => [name, http2Constants[name]]),
);
const LAZY_BUILTINS = {
  http2: {
    importer: /[\\/]node_modules[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/,
    contents: `exports.constants = ${JSON.stringify(HTTP2_CONSTANTS)};
exports.connect = (...args) => require("node:http2").connect(...args);`,
  },
  https: {
    importer: /[\\/]agent[\\/]download[\\/]proxy-tunnel\.ts$/,
    contents: 'exports.request = (...args) => require("node:https").request(...args);',
  },
};
const lazyBuiltins = {
  name: "lazy-builtins",
  setup(b) {
    b.onResolve({ filter: /^(node:)?(http2|https)$/ }, (args) => {
      const name = args.path.replace(/^node:/, "");
      return LAZY_BUILTINS[name].importer.test(args.importer)
        ? { path: name, namespace: "lazy-builtin" }
        : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({
      contents: LAZY_BUILTINS[args.path].contents,
      loader: "js",
    }));
  },
};

/**
 * The remote commands (`rollout …`, `agents …`) and the token commands, each family as one CommonJS
 * file run through a V8 code cache (scripts/cached-bundle.mjs): loading and compiling the ES module
 * chunks (undici, zod, yaml, commander) was ~0.3 s of CPU of every `ship-hub rollout list`, against
 * ~0.1 s for Node's own start.
 */
const buildCachedBundle = (name, plugins, sourceMapped = false) =>
  cachedBundle({ common, name, entry: cliModule, outdir: bundleDir, plugins, sourceMapped });
const remoteFile = await buildCachedBundle("remote", [
  leaveOut("remote", ["serve", "server", "token"]),
  slimUndici,
  lazyBuiltins,
]);
const tokenFile = await buildCachedBundle("token", [
  leaveOut("token", ["serve", "server", "remote", "create"]),
]);
/**
 * `serve`: the CLI with the server, the store, Express, ws and postgres (better-sqlite3 stays native
 * and external), without the remote and token commands. From the ES module chunks a start compiled
 * all of it anew, ~0.35–0.4 s of CPU of every hub start or restart; a source map, through which
 * code-cache.ts maps the stack traces the hub logs to the .ts sources, as Node did for the chunks.
 */
const serveFile = await buildCachedBundle("serve", [leaveOut("serve", ["remote", "create", "token"])], true);
// The code-cache loader as CommonJS, for the bin (tsc's dist/shared/cli/code-cache.js is an ES module).
await build({
  ...common,
  entryPoints: { "code-cache": join(root, "shared/cli/code-cache.ts") },
  format: "cjs",
  outdir: bundleDir,
  outExtension: { ".js": ".cjs" },
});
// Code caches are made on the machine that runs ship-hub (V8 version, flags): never packed.
writeFileSync(join(bundleDir, ".npmignore"), "*.v8cache\n*.tmp\n");

/** Each family's commands and subcommands: `rollout list` gets its own cache, holding what a listing compiles. */
const CACHED = {
  rollout: ["create", "list", "show", "advance", "pause", "resume", "abort"],
  agents: ["forget"],
  token: ["create", "revoke", "list"],
};

// The bin (ship-hub.service, docker-compose and the install name dist/hub/cli/main.js). It prints
// the version itself; the remote and token commands and `serve` (its first word) run a code-cached
// bundle unless source maps are wanted (NODE_OPTIONS=--enable-source-maps); one cache per command and
// subcommand, keyed by words the bin knows, never by what else is typed. Help and anything else
// import the ES module bundle, with source maps on before any bundled code is compiled (except for help, which would
// otherwise parse every loaded chunk's map for nothing): help from its entry chunk (commander and
// the program, ~65 KB) cost less than reading the remote bundle and a cache (~1 MB and ~0.3 MB).
writeFileSync(
  join(outDir, "main.js"),
  `#!/usr/bin/env node
// Generated by scripts/build-hub-cli.mjs: the CLI itself is bundle/ship-hub.js, and for the commands
// below bundle/${remoteFile}, bundle/${tokenFile} and bundle/${serveFile} (code-cached).
import { createRequire } from "node:module";
const args = process.argv.slice(2);
const CACHED = ${JSON.stringify(CACHED)};
const quick = args.includes("--help") || args.includes("-h") || (args.length === 1 && args[0] === "--version");
const esm = () => {
  if (!quick) process.setSourceMapsEnabled(true);
  return import("./bundle/ship-hub.js");
};
const [command, sub] = args;
// ship-hub --version (an install script's check) is this file's: nothing else to load for it.
if (args.length === 1 && args[0] === "--version") process.stdout.write(${JSON.stringify(`${pkg.version}\n`)});
else if (Object.hasOwn(CACHED, command) && !quick && !process.sourceMapsEnabled) {
  const require = createRequire(import.meta.url);
  const { loadWithCodeCache } = require("./bundle/code-cache.cjs");
  const key = CACHED[command].includes(sub) ? \`\${command}-\${sub}\` : command;
  const bundle = command === "token" ? "${tokenFile}" : "${remoteFile}";
  // The hub client's WebAssembly flag (hub/cli/hub-client.ts), set before the bundle is compiled:
  // V8 refuses a code cache made under other flags, and the cache is made after the request.
  if (bundle === "${remoteFile}") require("node:v8").setFlagsFromString("--liftoff-only");
  const cli = loadWithCodeCache(\`\${import.meta.dirname}/bundle/\${bundle}\`, key);
  // Settled as the process exits, however it does (failures call process.exit): the cache then
  // holds what the command compiled.
  process.once("exit", () => cli.settle());
  cli.exports.runCli(process.argv).catch((error) => {
    if (error?.code !== "SHIP_NOT_IN_BUNDLE") throw error;
    return esm();
  });
} else if (command === "serve" && !quick && !process.sourceMapsEnabled) {
  const require = createRequire(import.meta.url);
  const { loadWithCodeCache } = require("./bundle/code-cache.cjs");
  const cli = loadWithCodeCache(\`\${import.meta.dirname}/bundle/${serveFile}\`, "serve", { sourceMapped: true });
  // runCli resolves once the hub listens (a refused start exits before): the cache is written then,
  // holding what a start compiled. Not at the stop: a hub stopped by SIGKILL (or never) would leave
  // none, and weeks of serving let V8 drop the bytecode of the start's functions from the heap.
  cli.exports.runCli(process.argv).then(
    () => cli.settle(),
    (error) => {
      if (error?.code !== "SHIP_NOT_IN_BUNDLE") throw error;
      return esm();
    },
  );
} else await esm();
`,
  { mode: 0o755 },
);
rmSync(join(outDir, "main.js.map"), { force: true });
