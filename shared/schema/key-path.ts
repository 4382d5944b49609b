/** A key path as zod and our checks report it: object keys and array indexes. */
export type KeyPath = readonly (string | number)[];

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Formats a key path the way operators read it in errors: `files."config.toml".action`,
 * `post_update_tests[2].timeout`. Keys that are not plain identifiers are quoted so a glob or a
 * file name with dots stays one visible segment.
 */
export function formatKeyPath(path: KeyPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") {
      out += `[${segment}]`;
      continue;
    }
    const key = identifier.test(segment) ? segment : JSON.stringify(segment);
    out += out === "" ? key : `.${key}`;
  }
  return out;
}

/** Turns zod's `PropertyKey[]` into a KeyPath (symbols never occur in parsed documents). */
export function toKeyPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((segment) => (typeof segment === "symbol" ? String(segment) : segment));
}

/**
 * The key path `formatKeyPath` wrote, back as segments (`sources."my.app".app_dir` → three keys);
 * undefined when `text` is not one (a flag, `--port`, or a list of keys).
 */
export function parseKeyPath(text: string): KeyPath | undefined {
  const segment = /^(?:([A-Za-z_][A-Za-z0-9_]*)|("(?:[^"\\]|\\.)*")|\[(\d+)\])/;
  const path: (string | number)[] = [];
  let rest = text;
  while (rest !== "") {
    if (path.length > 0 && rest.startsWith(".")) rest = rest.slice(1);
    const m = segment.exec(rest);
    if (m === null) return undefined;
    if (m[3] !== undefined) path.push(Number(m[3]));
    else if (m[2] !== undefined) path.push(JSON.parse(m[2]) as string);
    else path.push(m[1] ?? "");
    rest = rest.slice(m[0].length);
  }
  return path.length === 0 ? undefined : path;
}
