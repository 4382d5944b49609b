// Preloaded with `node -r` by tests/integration/cli/start-up-modules.test.ts: counts the file system
// requests the process sent through libuv's thread pool (every fs/promises call and every
// callback-style fs call creates one FSREQPROMISE / FSREQCALLBACK resource) and the asynchronous
// child processes it started (PROCESSWRAP; spawnSync makes none), and writes both as JSON to
// $SHIP_POOL_TRACE at exit. CommonJS and no loader hooks, like builtin-trace.cjs.
const out = process.env.SHIP_POOL_TRACE;
if (out) {
  const counts = { fsRequests: 0, asyncChildren: 0 };
  require("node:async_hooks")
    .createHook({
      init(_id, type) {
        if (type === "FSREQPROMISE" || type === "FSREQCALLBACK") counts.fsRequests++;
        if (type === "PROCESSWRAP") counts.asyncChildren++;
      },
    })
    .enable();
  process.on("exit", () => require("node:fs").writeFileSync(out, JSON.stringify(counts)));
}
