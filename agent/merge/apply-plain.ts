/**
 * Applies a merge plan to plain parsed values (JSON, TOML). Keys keep the server copy's order;
 * added keys land after them, in the order the plan lists them (the release's order).
 */
import type { MergeEdit } from "./plan.js";
import { deepClone, isTable, setOwn, type Table, valueAt } from "./values.js";

export function applyEditsToValue(user: unknown, release: unknown, edits: readonly MergeEdit[]): unknown {
  let result = deepClone(user);
  for (const edit of edits) {
    if (edit.path.length === 0) {
      result = edit.kind === "remove" ? {} : deepClone(release);
      continue;
    }
    const parent = tableAt(result, edit.path.slice(0, -1), edit.kind === "add");
    const key = edit.path[edit.path.length - 1] as string;
    if (edit.kind === "remove") delete parent[key];
    else setOwn(parent, key, deepClone(valueAt(release, edit.path)));
  }
  return result;
}

/**
 * The table at `path`; an add into a table the user deleted (the release changed some of its keys)
 * makes it anew, holding only what is added.
 */
function tableAt(root: unknown, path: readonly string[], make: boolean): Table {
  let node = root;
  for (const key of path) {
    if (make && isTable(node) && !Object.hasOwn(node, key)) setOwn(node, key, {});
    node = isTable(node) ? node[key] : undefined;
  }
  if (!isTable(node)) throw new Error(`merge plan refers to ${path.join(".")}, which is not a table`);
  return node;
}
