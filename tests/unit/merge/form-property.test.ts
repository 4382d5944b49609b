/**
 * The file's form, over random commented documents (seeded): a merge whose result has the user's
 * values leaves the file byte for byte, and the comment above every key whose value stays the
 * user's survives every merge, in TOML (arrays of tables included) and YAML.
 */
import { describe, expect, it } from "vitest";
import { type MergeFormat, mergeConfigFile } from "../../../agent/merge/index.js";
import { read } from "./formats.js";
import { type Doc, isTable, mulberry32, mutate, randomDoc } from "./random-docs.js";

type Tag = "user" | "release" | "base";

const isTableArray = (value: unknown): value is Doc[] =>
  Array.isArray(value) && value.length > 0 && value.every(isTable);
const scalar = (value: unknown): string => JSON.stringify(value);
const comment = (tag: Tag, path: string[]) => `# ${tag}:${path.join(".")}`;

/** TOML with a comment line above every key, header and [[array]] block. */
function tomlText(doc: Doc, tag: Tag): string {
  const lines: string[] = [];
  const table = (node: Doc, path: string[]) => {
    const entries = Object.entries(node);
    for (const [key, value] of entries) {
      if (isTable(value) || isTableArray(value)) continue;
      lines.push(comment(tag, [...path, key]), `${key} = ${scalar(value)}`);
    }
    for (const [key, value] of entries) {
      const at = [...path, key];
      if (isTable(value)) {
        lines.push("", comment(tag, at), `[${at.join(".")}]`);
        table(value, at);
      } else if (isTableArray(value)) {
        for (const item of value) {
          lines.push("", comment(tag, at), `[[${at.join(".")}]]`);
          for (const [k, v] of Object.entries(item)) lines.push(`${k} = ${scalar(v)}`);
        }
      }
    }
  };
  table(doc, []);
  return `${lines.join("\n")}\n`;
}

/** Block YAML with a comment line above every key. */
function yamlText(doc: Doc, tag: Tag): string {
  const lines: string[] = [];
  const map = (node: Doc, path: string[], indent: string) => {
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      lines.push(`${indent}${comment(tag, at)}`);
      if (isTable(value) && Object.keys(value).length > 0) {
        lines.push(`${indent}${key}:`);
        map(value, at, `${indent}  `);
      } else {
        lines.push(`${indent}${key}: ${scalar(value)}`);
      }
    }
  };
  map(doc, [], "");
  return lines.length === 0 ? "{}\n" : `${lines.join("\n")}\n`;
}

const render: Record<"toml" | "yaml", (doc: Doc, tag: Tag) => string> = { toml: tomlText, yaml: yamlText };

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    isTable(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );

/** Paths of keys whose value in `merged` is still the user's (a table counts as kept when it is still a table). */
function keptPaths(user: Doc, merged: unknown, path: string[] = []): string[][] {
  if (!isTable(merged)) return [];
  return Object.entries(user).flatMap(([key, value]) => {
    if (!Object.hasOwn(merged, key)) return [];
    const at = [...path, key];
    const mine = merged[key];
    if (isTable(value) && isTable(mine)) return [at, ...keptPaths(value, mine, at)];
    return canonical(value) === canonical(mine) ? [at] : [];
  });
}

const runs = 120;

describe.each(["toml", "yaml"] as const)("the form of random commented %s files", (format) => {
  const shape = { tableArrays: format === "toml" };
  const triples = (seed: number) => {
    const random = mulberry32(seed);
    return Array.from({ length: runs }, () => {
      const base = randomDoc(random, 0, shape);
      return [base, mutate(random, base, 0, shape), mutate(random, base, 0, shape)] as const;
    });
  };
  const merge = (current: string, incoming: string, base: string | undefined, strategy: string) =>
    mergeConfigFile({
      format: format as MergeFormat,
      fileName: `f.${format}`,
      current,
      incoming,
      base,
      strategy: strategy as "preserve_user" | "update_only",
    });

  it("a merge whose result has the user's values leaves the file byte for byte", () => {
    let unchanged = 0;
    for (const [base, user, release] of triples(3)) {
      const current = render[format](user, "user");
      // The release carrying the user's values (other comments, other layout): always a no-op.
      expect(
        merge(current, render[format](user, "release"), render[format](base, "base"), "preserve_user").text,
      ).toBe(current);
      for (const strategy of ["preserve_user", "update_only"]) {
        const result = merge(
          current,
          render[format](release, "release"),
          render[format](base, "base"),
          strategy,
        );
        if (canonical(read(format, result.text)) !== canonical(read(format, current))) continue;
        unchanged++;
        if (result.text !== current) expect.fail(`${strategy} rewrote an unchanged file:\n${current}`);
      }
    }
    expect(unchanged).toBeGreaterThan(10);
  });

  it("the comment above every key whose value stays the user's survives; a comment that goes is named in a warning (replaced or removed values), no other warning", () => {
    for (const [base, user, release] of triples(4)) {
      const current = render[format](user, "user");
      for (const strategy of ["preserve_user", "update_only"]) {
        const result = merge(
          current,
          render[format](release, "release"),
          render[format](base, "base"),
          strategy,
        );
        const merged = read(format, result.text);
        for (const path of keptPaths(user, merged)) {
          if (!result.text.includes(comment("user", path)))
            expect.fail(
              `${strategy} lost ${comment("user", path)}:\n--- user\n${current}--- release\n${render[format](release, "release")}--- result\n${result.text}`,
            );
        }
        // Every comment of the user's is in the result or named by a warning: never dropped unsaid.
        const userComments = current.split("\n").filter((l) => l.trim().startsWith("# user:"));
        for (const line of userComments) {
          const c = line.trim();
          if (!result.text.includes(c) && !result.warnings.some((w) => w.includes(c)))
            expect.fail(
              `${strategy} dropped ${c} without a warning:\n--- user\n${current}--- result\n${result.text}`,
            );
        }
        // A value the release replaced takes the user's comments inside it along: said, per path;
        // a key the release removed takes the comments above it along: said, naming them, and only
        // comments that really are gone.
        const replaced =
          /^(\S+): the release(?:'s value replaced yours, and your comments inside it| dropped your element .+?, and your comments on it) went with it/;
        const removedNote =
          /^your comments (went with the keys the merge removed \(|are not in the merged file)/;
        for (const w of result.warnings.filter((w) => removedNote.test(w))) {
          if (w.includes("removed (")) expect(result.removed.length).toBeGreaterThan(0);
          for (const named of w.match(/# user:[^,]+/g) ?? []) expect(result.text).not.toContain(named);
        }
        // A key the release dropped while the user's changed value stays is said too, naming kept keys
        // (under update_only, inside a dropped table reported kept as a whole).
        const kept = (key: string) =>
          expect(result.kept.some((k) => key === k || key.startsWith(`${k}.`))).toBe(true);
        const dropped = /^this release no longer has the keys? (.+?), whose value you had changed/;
        for (const w of result.warnings.filter((w) => dropped.test(w)))
          for (const key of (dropped.exec(w)?.[1] ?? "").split(", ")) kept(key);
        // So is a key of the user's own in a table the release dropped.
        const addedIn =
          /^this release no longer has the table \S+, in which you had added the keys? (.+?): kept/;
        for (const w of result.warnings.filter((w) => addedIn.test(w)))
          for (const key of (addedIn.exec(w)?.[1] ?? "").split(", ")) kept(key);
        // And a kept key whose form (value, list, table) the release changed.
        const reshaped =
          /^this release writes (?:(.+?) as a (?:table|list|single value), your copy as |these keys in another form)/;
        for (const w of result.warnings.filter((w) => reshaped.test(w)))
          if (reshaped.exec(w)?.[1] !== undefined) expect(result.kept).toContain(reshaped.exec(w)?.[1]);
        // And a list both sides changed, kept whole: the release's change named, never silent.
        const bothChanged = /^this release changed the list (.+?), which you had changed too: /;
        for (const w of result.warnings.filter((w) => bothChanged.test(w)))
          expect(result.kept).toContain(bothChanged.exec(w)?.[1]);
        // A release copy holding no key (an empty random table in TOML) leaves the user's as it is.
        const keyless = /^the release's copy holds no keys/;
        for (const w of result.warnings.filter((w) => keyless.test(w))) expect(result.text, w).toBe(current);
        const unexpected = result.warnings.filter(
          (w) =>
            !keyless.test(w) &&
            !result.updated.includes(replaced.exec(w)?.[1] ?? "") &&
            !removedNote.test(w) &&
            !dropped.test(w) &&
            !addedIn.test(w) &&
            !reshaped.test(w) &&
            !bothChanged.test(w),
        );
        if (unexpected.length > 0)
          expect.fail(
            `${strategy}: ${result.warnings.join("; ")}\n--- user\n${current}--- result\n${result.text}`,
          );
      }
    }
  });
});
