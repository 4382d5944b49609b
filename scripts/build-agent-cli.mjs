#!/usr/bin/env node
// Bundles the agent CLI (`ship`) with esbuild after tsc has type-checked and compiled everything.
// Why: Node 20 loads ESM module by module, and zod alone is ~240 files; resolving, reading and
// linking them cost more than Node's own start. One bundle split at each lazy `import()` keeps
// every path loading only what it runs (`ship --help`: commander and the entry; `--rollback`: no
// source client, no planner), each in a few files.
//
// Layout: dist/agent/cli/main.js (the bin) is a small stub that turns source maps on and then
// imports bundle/ship.js, so every chunk — the entry's too — gets stack traces that name the .ts
// sources. Libraries with native or optional native parts, network clients and anything not
// listed in BUNDLED stay external: they load from node_modules as before, only when their path runs.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "dist/agent/cli");
const bundleDir = join(outDir, "bundle");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/**
 * Pure-JavaScript libraries on the CLI's start-up paths, with their own dependencies; every other
 * package our code imports stays external.
 */
export const BUNDLED = ["commander", "zod", "smol-toml", "yaml", "minimatch", "pino", "tar"];

/** The bare package name of an import specifier (`zod/mini` → zod, `@scope/x/y` → @scope/x). */
function packageName(spec) {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

const externalUnlessBundled = {
  name: "external-unless-bundled",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return { path: args.path, external: true };
      // A bundled library's own dependencies (pino's sonic-boom, minimatch's brace-expansion…) come
      // along; otherwise they would load module by module from node_modules after all.
      if (args.importer.includes(`${sep}node_modules${sep}`)) return undefined;
      return BUNDLED.includes(packageName(args.path)) ? undefined : { path: args.path, external: true };
    });
  },
};

/**
 * zod exports every locale through its `z` namespace; a shared chunk must then hold all of them
 * (~360 KB of the ~750 KB zod bundle). ship only uses zod's default English messages.
 */
const englishOnlyZod = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.resolveDir.includes(`${join("node_modules", "zod")}`)
        ? { path: join(args.resolveDir, "../locales/en.js"), namespace: "zod-en" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-en" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
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
  plugins: [externalUnlessBundled, englishOnlyZod],
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

// The same CLI as one CommonJS file, for the commands that run through a V8 code cache
// (agent/cli/code-cache.ts; Node 20 caches no ES module code). Its name carries its content hash, so a
// cache made for another build is never even looked at. No source map: those commands run without.
const quick = await build({
  ...common,
  entryPoints: { quick: join(root, "agent/cli/quick.ts") },
  format: "cjs",
  outdir: bundleDir,
  entryNames: "[name]-[hash]",
  outExtension: { ".js": ".cjs" },
  // `import()` of an external package becomes require(): a vm.Script has no module loader of its own
  // (Node 20's USE_MAIN_CONTEXT_DEFAULT_LOADER is experimental and warns). Every external is CommonJS.
  supported: { "dynamic-import": false },
  metafile: true,
});
const quickFile = Object.keys(quick.metafile.outputs)
  .find((f) => f.endsWith(".cjs"))
  ?.split("/")
  .at(-1);
if (quickFile === undefined) throw new Error("esbuild wrote no quick-*.cjs bundle");
// Code caches are made on the machine that runs ship (V8 version, flags): never packed.
writeFileSync(join(bundleDir, ".npmignore"), "*.v8cache\n*.tmp\n");

// The code-cache loader as CommonJS, for the bin below (tsc's dist/agent/cli/code-cache.js is an ES
// module, which CommonJS cannot require in Node 20).
await build({
  ...common,
  entryPoints: { "code-cache": join(root, "agent/cli/code-cache.ts") },
  format: "cjs",
  outdir: bundleDir,
  outExtension: { ".js": ".cjs" },
});

// The bin, dist/agent/cli/main.cjs: CommonJS, because an ES module entry costs the ES module loader's
// start (~10 ms of CPU here, an eighth of a rollback beyond Node's own start). `--rollback` and
// `--list-backups` (issue 11: within 2× of `node -e 0`) and the update run itself (`ship [--force]
// [--check-only] …`, what the timer runs: loading its modules was ~0.1 s of CPU, a tenth of a
// 20,000-file update) run the CommonJS bundle with a code cache (key "run" for the update run),
// unless source maps are wanted. None of them prints a stack trace: every error becomes one line.
// Everything else (`ship agent`, `ship release`, the other modes) imports the ES module bundle with
// source maps on before any bundled code is compiled — except `--help`/`--version`: Node reads and
// parses every loaded chunk's map up front (~20 ms), so they skip them unless --verbose.
const stub = `#!/usr/bin/env node
// Generated by scripts/build-agent-cli.mjs: the CLI itself is bundle/ship.js (and bundle/${quickFile}).
"use strict";
const args = process.argv.slice(2);
const verbose = args.includes("--verbose") || args.includes("-v");
const elsewhere = ["agent", "release", "--help", "-h", "--version", "--test-manifest", "--check-requirements",
  "--test-conditionals", "--check-rollout", "--approve", "--recover"];
const cached = ["--rollback", "--list-backups"].find((a) => args.includes(a)) ??
  (args.some((a) => elsewhere.includes(a)) ? undefined : "--run");
if (cached !== undefined && !verbose && !process.sourceMapsEnabled) {
  const { runCachedCli } = require("./bundle/code-cache.cjs");
  runCachedCli(\`\${__dirname}/bundle/${quickFile}\`, cached.slice(2), process.argv).then((code) => {
    process.exitCode = code;
  });
} else {
  const quick = ["--help", "-h", "--version"].some((a) => args.includes(a));
  if (!quick || verbose) process.setSourceMapsEnabled(true);
  import("./bundle/ship.js");
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
