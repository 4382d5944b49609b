// Preloaded through NODE_OPTIONS=--require by tests that count how often a CLI run reads a file:
// appends every path fs.promises.readFile is given to $SHIP_READ_TRACE. CommonJS, patched on the
// shared module object, which the bundled CLI reads at call time.
const out = process.env.SHIP_READ_TRACE;
if (out) {
  const fs = require("node:fs");
  const promises = require("node:fs/promises");
  const readFile = promises.readFile;
  promises.readFile = function traced(path, ...rest) {
    fs.appendFileSync(out, `${String(path)}\n`);
    return readFile.call(this, path, ...rest);
  };
}
