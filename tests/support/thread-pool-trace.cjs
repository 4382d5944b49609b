// Preloaded with `node -r` by tests/integration/cli/start-up-modules.test.ts: counts the file system
// requests the process sent through libuv's thread pool (every fs/promises call and every
// callback-style fs call creates one FSREQPROMISE / FSREQCALLBACK resource) and writes the count to
// $SHIP_POOL_TRACE at exit. CommonJS and no loader hooks, like builtin-trace.cjs.
const out = process.env.SHIP_POOL_TRACE;
if (out) {
  let count = 0;
  require("node:async_hooks")
    .createHook({
      init(_id, type) {
        if (type === "FSREQPROMISE" || type === "FSREQCALLBACK") count++;
      },
    })
    .enable();
  process.on("exit", () => require("node:fs").writeFileSync(out, `${count}\n`));
}
