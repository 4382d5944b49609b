// One CLI entry as a CommonJS file for a V8 code cache (shared/cli/code-cache.ts), as both CLI
// bundlers make them (scripts/build-agent-cli.mjs, scripts/build-hub-cli.mjs).
import { build } from "esbuild";
import { lazyChildProcessForCommander } from "./cli-bundle-plugins.mjs";

/**
 * Bundles `entry` as `<outdir>/<name>-<hash>.cjs` with the bundler's `common` options and `plugins`
 * first; returns the file's name. Node 20 caches no ES module code, hence CommonJS; the name carries
 * the content hash, so a cache made for another build is never looked at. No source map unless
 * `sourceMapped` (`ship agent`'s, whose logged stack traces name the sources: code-cache.ts maps
 * them): the quick commands print one line for every error, never a stack.
 */
export async function buildCachedBundle({ common, name, entry, outdir, plugins, sourceMapped = false }) {
  const result = await build({
    ...common,
    plugins: [...plugins, lazyChildProcessForCommander, ...common.plugins],
    entryPoints: { [name]: entry },
    format: "cjs",
    outdir,
    entryNames: "[name]-[hash]",
    outExtension: { ".js": ".cjs" },
    ...(sourceMapped ? { sourcemap: "linked", sourcesContent: false } : {}),
    // `import()` of an external package (better-sqlite3) becomes require(): a vm.Script has no
    // module loader of its own (Node 20's USE_MAIN_CONTEXT_DEFAULT_LOADER is experimental and
    // warns). Every external is CommonJS.
    supported: { "dynamic-import": false },
    // import.meta is the bundle's own URL, made only if read (esbuild warned that it is empty in
    // CommonJS on every build; the hub's dashboard assets are found from it, which are serve's).
    define: { ...common.define, "import.meta": "__shipImportMeta" },
    banner: {
      js: 'var __shipImportMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };',
    },
    metafile: true,
  });
  const file = Object.keys(result.metafile.outputs)
    .find((f) => f.endsWith(".cjs"))
    ?.split("/")
    .at(-1);
  if (file === undefined) throw new Error(`esbuild wrote no ${name}-*.cjs bundle`);
  return file;
}
