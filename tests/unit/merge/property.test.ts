/**
 * "A merge never drops a user value the strategy keeps", over a few hundred random nested
 * documents per format (seeded, so a failure reproduces).
 */
import { describe, expect, it } from "vitest";
import { type MergeFormat, mergeConfigFile } from "../../../agent/merge/index.js";
import { formats, read, write } from "./formats.js";
import { type Doc, isTable, mulberry32, mutate, randomDoc } from "./random-docs.js";

/** Every non-table value and every empty table, by path. */
function leaves(doc: Doc, prefix: string[] = []): [string[], unknown][] {
  return Object.entries(doc).flatMap(([key, value]): [string[], unknown][] => {
    const path = [...prefix, key];
    return isTable(value) && Object.keys(value).length > 0 ? leaves(value, path) : [[path, value]];
  });
}

const MISSING = Symbol("missing");
function at(doc: unknown, path: string[]): unknown {
  let node = doc;
  for (const key of path) node = isTable(node) && key in node ? node[key] : MISSING;
  return node;
}

// Key order differs between formats (TOML writes values before tables) and smol-toml's tables
// have no prototype: compare canonical texts.
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    isTable(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
const same = (a: unknown, b: unknown) => a === b || canonical(a) === canonical(b);

function merge(
  format: MergeFormat,
  strategy: "preserve_user" | "update_only",
  docs: Doc[],
  withBase: boolean,
) {
  const [base, current, incoming] = docs as [Doc, Doc, Doc];
  const result = mergeConfigFile({
    format,
    fileName: "f",
    current: write(format, current),
    incoming: write(format, incoming),
    base: withBase ? write(format, base) : undefined,
    strategy,
  });
  return { ...result, value: read(format, result.text) };
}

// Per format and property: 450 documents per property in all, about a second on an idle core.
const runs = 150;

describe.each(formats)("random documents (%s)", (format) => {
  const documents = (seed: number) => {
    const random = mulberry32(seed);
    return Array.from({ length: runs }, () => {
      const base = randomDoc(random);
      return [base, mutate(random, base), mutate(random, base)];
    });
  };

  it("update_only and preserve_user without base keep every user value and add every new key", () => {
    for (const docs of documents(1)) {
      const [, current, incoming] = docs as [Doc, Doc, Doc];
      for (const strategy of ["update_only", "preserve_user"] as const) {
        const { value, text, warnings } = merge(format, strategy, docs, false);
        // A release copy holding only empty tables holds no key of any value (keyless-release.ts):
        // the user's copy stays byte for byte, nothing added, and a WARNING says why (a user's copy
        // holding no key either may go unsaid: nothing of it could have been lost).
        if (leaves(incoming).every(([, leaf]) => isTable(leaf))) {
          expect(text).toBe(write(format, current));
          const said = [expect.stringContaining("the release's copy holds no keys")];
          expect(warnings).toEqual(leaves(current).length === 0 && warnings.length === 0 ? [] : said);
          continue;
        }
        for (const [path, userValue] of leaves(current)) {
          const merged = at(value, path);
          if (!same(merged, userValue) && !(isTable(userValue) && isTable(merged))) {
            expect.fail(`${strategy} lost ${path.join(".")} of ${JSON.stringify(docs)}`);
          }
        }
        for (const [path] of leaves(incoming)) {
          // Only a user value that is not a table (kept as it is) can stand in the way of a new key.
          const blocked = path.slice(0, -1).some((_, i) => {
            const userValue = at(current, path.slice(0, i + 1));
            return userValue !== MISSING && !isTable(userValue);
          });
          if (!blocked && at(value, path) === MISSING)
            expect.fail(`${strategy} did not add ${path.join(".")}`);
        }
      }
    }
  });

  it("update_only with base keeps every user value and adds every key new since the previous release, not one the user deleted", () => {
    for (const docs of documents(3)) {
      const [base, current, incoming] = docs as [Doc, Doc, Doc];
      const { value } = merge(format, "update_only", docs, true);
      if (leaves(incoming).every(([, leaf]) => isTable(leaf))) continue;
      for (const [path, userValue] of leaves(current)) {
        const merged = at(value, path);
        if (!same(merged, userValue) && !(isTable(userValue) && isTable(merged)))
          expect.fail(`update_only lost ${path.join(".")} of ${JSON.stringify(docs)}`);
      }
      for (const [path] of leaves(incoming)) {
        const blocked = path.slice(0, -1).some((_, i) => {
          const userValue = at(current, path.slice(0, i + 1));
          return userValue !== MISSING && !isTable(userValue);
        });
        // Deleted by the user: a key the previous release had that the user's copy lacks, where the
        // release does not hold a table of keys new since then in its place.
        const deleted = path.some((_, i) => {
          const prefix = path.slice(0, i + 1);
          const was = at(base, prefix);
          if (at(current, prefix) !== MISSING || was === MISSING) return false;
          return i === path.length - 1 || !isTable(was) || !isTable(at(incoming, prefix));
        });
        const got = at(value, path);
        if (deleted && got !== MISSING && !isTable(got) && at(current, path) === MISSING)
          expect.fail(`update_only brought back the deleted ${path.join(".")} of ${JSON.stringify(docs)}`);
        if (!blocked && !deleted && got === MISSING)
          expect.fail(`update_only did not add ${path.join(".")} of ${JSON.stringify(docs)}`);
      }
    }
  });

  it("preserve_user with base keeps every value the user changed or added, and follows the release elsewhere", () => {
    for (const docs of documents(2)) {
      const [base, current, incoming] = docs as [Doc, Doc, Doc];
      const result = merge(format, "preserve_user", docs, true);
      for (const [path, userValue] of leaves(current)) {
        if (same(at(base, path), userValue)) continue;
        const merged = at(result.value, path);
        if (!same(merged, userValue) && !(isTable(userValue) && isTable(merged))) {
          expect.fail(`lost user value ${path.join(".")} of ${JSON.stringify(docs)}`);
        }
      }
      for (const [path, releaseValue] of leaves(incoming)) {
        // A value the user never touched (same as base, all the way down) takes the release's.
        if (
          same(at(current, path), at(base, path)) &&
          at(base, path) !== MISSING &&
          !same(at(result.value, path), releaseValue)
        ) {
          const parentsUntouched = path.every((_, i) =>
            same(at(current, path.slice(0, i + 1)), at(base, path.slice(0, i + 1))),
          );
          if (parentsUntouched)
            expect.fail(`did not take the release's ${path.join(".")} of ${JSON.stringify(docs)}`);
        }
      }
      for (const kept of result.kept) {
        const path = kept.split(".");
        const userValue = at(current, path);
        if (userValue !== MISSING && !same(at(result.value, path), userValue))
          expect.fail(`reported ${kept} kept but lost it: ${JSON.stringify(docs)}`);
      }
    }
  });
});
