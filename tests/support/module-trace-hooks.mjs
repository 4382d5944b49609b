// Loader hooks of module-trace.mjs: notes each ESM module file as it loads.
import { appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

let out;
export function initialize(data) {
  out = data.out;
}

export async function load(url, context, next) {
  if (url.startsWith("file:")) appendFileSync(out, `${fileURLToPath(url)}\n`);
  return next(url, context);
}
