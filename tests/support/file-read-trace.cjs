// Preloaded through NODE_OPTIONS=--require by tests that count how often a CLI run reads a file:
// appends every path fs.promises.readFile is given, and every path fs.promises.open or fs.openSync is
// given to read (ship's records are opened without blocking and fstat-checked before they are read,
// synchronously, record-file.ts),
// to $SHIP_READ_TRACE, every path lstat (sync
// or promise) is given to $SHIP_STAT_TRACE, and every path Node's fs binding lstats to $SHIP_LSTAT_TRACE. CommonJS, patched on the shared module objects, which
// the bundled CLI reads at call time.
const fs = require("node:fs");
const promises = require("node:fs/promises");

/** Replaces `target[name]` with a function that appends its first argument to `out`, then calls it. */
function trace(target, name, out) {
  const original = target[name];
  target[name] = function traced(path, ...rest) {
    fs.appendFileSync(out, `${String(path)}\n`);
    return original.call(this, path, ...rest);
  };
}

/** Like trace, for `open` and `openSync`: only an open for reading (no write flag), as a read of the file. */
function traceReadOpens(target, name, out) {
  const original = target[name];
  target[name] = function traced(path, flags, ...rest) {
    const readOnly = flags === undefined || flags === "r" || (typeof flags === "number" && (flags & 3) === 0);
    if (readOnly) fs.appendFileSync(out, `${String(path)}\n`);
    return original.call(this, path, flags, ...rest);
  };
}

if (process.env.SHIP_READ_TRACE) {
  trace(promises, "readFile", process.env.SHIP_READ_TRACE);
  traceReadOpens(promises, "open", process.env.SHIP_READ_TRACE);
  traceReadOpens(fs, "openSync", process.env.SHIP_READ_TRACE);
}
if (process.env.SHIP_LSTAT_TRACE) {
  // Every lstat that reaches Node's fs binding: lstatSync, fs.promises.lstat and lstat-lite.ts's
  // direct calls (which read the numbers without building a Stats) alike.
  trace(process.binding("fs"), "lstat", process.env.SHIP_LSTAT_TRACE);
}
if (process.env.SHIP_STAT_TRACE) {
  trace(fs, "lstatSync", process.env.SHIP_STAT_TRACE);
  trace(promises, "lstat", process.env.SHIP_STAT_TRACE);
}
