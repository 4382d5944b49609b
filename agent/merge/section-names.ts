/**
 * `merge_strategies` entries are looked up by key path while the merge walks the file, so one that
 * names no key (`databse`, `api.kee`) silently does nothing: under `replace` the release then
 * overwrites exactly what the operator meant to protect. Such an entry is named in a warning, with
 * the closest key as a hint, as unknown manifest keys are. Not an error: a section may be protected
 * before any copy has it (a table the user may add).
 */
import type { SectionStrategy } from "../../shared/manifest/schema.js";
import { didYouMean } from "../../shared/schema/did-you-mean.js";
import { ABSENT, dotted, isTable, keyName, type Maybe } from "./values.js";

/**
 * The path of every key of every copy, as sections are matched: dotted, and as the key report
 * names it (a key holding a dot quoted, `labels."app.kubernetes.io/name"`).
 */
function keyPaths(copies: readonly Maybe[]): Set<string> {
  const paths = new Set<string>();
  const walk = (value: unknown, path: string[]): void => {
    if (!isTable(value)) return;
    for (const [key, child] of Object.entries(value)) {
      const childPath = [...path, key];
      paths.add(dotted(childPath));
      paths.add(keyName(childPath));
      walk(child, childPath);
    }
  };
  for (const copy of copies) if (copy !== ABSENT) walk(copy, []);
  return paths;
}

function hint(name: string, candidates: readonly string[]): string {
  const close = didYouMean(name, candidates);
  return close === undefined ? "" : ` (did you mean ${JSON.stringify(close)}?)`;
}

/** The entries that named no key, by id (`server` or `server preserve_keys prot`), each with its warning. */
export interface UnusedSections {
  ids: string[];
  warnings: string[];
}

/**
 * `said`: the ids the last merge of this file found naming no key. Those are not said again: the
 * manifest's mistake was named once, and a release that ships it again, as releases copy their
 * manifest, is no news (a WARNING on every update taught operators to skip the ones that mattered).
 * Every id is still returned, so a mistake fixed and made again is named again.
 */
export function unusedSections(
  sections: Record<string, SectionStrategy>,
  copies: readonly Maybe[],
  copiesNamed: string,
  said: readonly string[] = [],
): UnusedSections {
  const found: UnusedSections = { ids: [], warnings: [] };
  const names = Object.keys(sections);
  if (names.length === 0) return found;
  const paths = keyPaths(copies);
  const known = [...paths];
  const note = (id: string, warning: () => string): void => {
    found.ids.push(id);
    if (!said.includes(id)) found.warnings.push(warning());
  };
  for (const name of names) {
    if (!paths.has(name)) {
      note(
        name,
        () =>
          `merge_strategies section ${JSON.stringify(name)} names no key in ${copiesNamed}, so it did nothing${hint(name, known)}`,
      );
      continue;
    }
    const section = sections[name];
    if (section === undefined || typeof section === "string") continue;
    const under = known.filter((p) => p.startsWith(`${name}.`)).map((p) => p.slice(name.length + 1));
    for (const key of section.preserve_keys) {
      if (paths.has(`${name}.${key}`)) continue;
      note(
        `${name} preserve_keys ${key}`,
        () =>
          `merge_strategies section ${JSON.stringify(name)}: preserve_keys entry ${JSON.stringify(key)} names no key in ${copiesNamed}, so it kept nothing${hint(key, under)}`,
      );
    }
  }
  return found;
}
