// esbuild plugins both CLI bundlers use (scripts/build-agent-cli.mjs, scripts/build-hub-cli.mjs).
import { dirname, join, sep } from "node:path";

/** The bare package name of an import specifier (`zod/mini` → zod, `@scope/x/y` → @scope/x). */
export function packageName(spec) {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/**
 * Bundles the packages in `bundled` (and their own dependencies); every other package our code
 * imports, and each of `optional` wherever it is required from, stays external: loaded from
 * node_modules, only when its path runs.
 */
export function externalUnlessBundled(bundled, optional = []) {
  return {
    name: "external-unless-bundled",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith("node:")) return { path: args.path, external: true };
        if (optional.includes(packageName(args.path))) return { path: args.path, external: true };
        // A bundled library's own dependencies (pino's sonic-boom, minimatch's brace-expansion…) come
        // along; otherwise they would load module by module from node_modules after all.
        if (args.importer.includes(`${sep}node_modules${sep}`)) return undefined;
        return bundled.includes(packageName(args.path)) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/**
 * zod exports every locale through its `z` namespace; a shared chunk must then hold all of them
 * (~360 KB of the ~750 KB zod bundle). ship only uses zod's default English messages.
 */
export const englishOnlyZod = {
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

/**
 * commander requires `child_process` as it loads, for executable subcommands (`ship foo` running a
 * `ship-foo` binary), which ship never declares. Loading it brings `net`, `dgram` and the streams
 * along: ~10 ms of CPU of every code-cached command here (`ship --rollback`, `ship-hub rollout
 * list`). In the code-cached bundles of both CLIs, commander gets a stand-in that loads the real
 * module when `spawn` is called.
 */
export const lazyChildProcessForCommander = {
  name: "lazy-child-process-for-commander",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
        ? { path: "child_process", namespace: "lazy-child-process" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-child-process" }, () => ({
      contents: 'exports.spawn = (...args) => require("node:child_process").spawn(...args);',
      loader: "js",
    }));
  },
};
