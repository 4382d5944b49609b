/**
 * The protected directory (`preserve: true`) every path a `files` pattern can match lies in, told
 * from the manifest alone: a merge rule there never merges (ship fills a protected directory only
 * where the app lacks it and never writes it again). A glob counts from its literal leading
 * directories (`data/*.yaml` → `data`); one that starts with a wildcard, or whose matches may reach a
 * `preserve: false` entry nested in that directory, cannot be told without the release's files.
 */
import { Minimatch } from "minimatch";
import { protectedDirectoryOf } from "./rules.js";

type Directories = Record<string, unknown>;

function preserves(rule: unknown): boolean {
  // `preserve` defaults to true (schema.ts); a wrong shape is the schema's error, not protected here.
  if (typeof rule !== "object" || rule === null) return false;
  const preserve = (rule as { preserve?: unknown }).preserve;
  return preserve === undefined || preserve === true;
}

function normalise(dir: string): string {
  return dir.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

/** The directories entry (as written) protecting `path`, read as the apply reads it (rules.ts). */
function protectingEntry(directories: Directories, path: string): string | undefined {
  const typed = Object.fromEntries(
    Object.entries(directories).map(([key, rule]) => [key, { preserve: preserves(rule) }]),
  );
  return protectedDirectoryOf({ directories: typed }, path) ?? undefined;
}

export function protectedDirectoryOfPattern(directories: Directories, pattern: string): string | undefined {
  const matcher = new Minimatch(pattern, { dot: true });
  if (!matcher.hasMagic()) return protectingEntry(directories, pattern);
  const segments = pattern.split("/");
  const literal: string[] = [];
  for (const segment of segments.slice(0, -1)) {
    if (new Minimatch(segment).hasMagic()) break;
    literal.push(segment);
  }
  if (literal.length === 0) return undefined;
  const prefix = literal.join("/");
  const entry = protectingEntry(directories, prefix);
  if (entry === undefined) return undefined;
  // A nested entry that does not protect (`data/cache: {preserve: false}`) may hold some matches:
  // `data/**/*.yml` reaches into it, `data/*.toml` does not (minimatch's partial match).
  const open = Object.entries(directories).some(([key, rule]) => {
    const dir = normalise(key);
    return dir.startsWith(`${prefix}/`) && !preserves(rule) && matcher.match(dir, true);
  });
  return open ? undefined : entry;
}
