// Preloaded with `node -r` by tests/integration/cli/start-up-modules.test.ts: writes the Node
// built-ins the process loaded (process.moduleLoadList, `NativeModule x` entries) to
// $SHIP_BUILTIN_TRACE at exit. CommonJS and no loader hooks: those would load built-ins of their own.
const out = process.env.SHIP_BUILTIN_TRACE;
if (out) {
  process.on("exit", () => {
    const names = process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13));
    require("node:fs").writeFileSync(out, `${names.join("\n")}\n`);
  });
}
