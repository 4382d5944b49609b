// Preloaded with `node --import` by tests/integration/cli/start-up-modules.test.ts: appends the
// path of every module file the process loads to $SHIP_MODULE_TRACE, ESM through a load hook (it
// runs on the loader thread, hence the file) and CommonJS from require's cache at exit.
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";

const out = process.env.SHIP_MODULE_TRACE;
if (out) {
  register("./module-trace-hooks.mjs", import.meta.url, { data: { out } });
  process.on("exit", () => {
    const cache = createRequire(import.meta.url).cache;
    appendFileSync(
      out,
      Object.keys(cache)
        .map((p) => `${p}\n`)
        .join(""),
    );
  });
}
