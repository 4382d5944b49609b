/**
 * The README lists the values of enum keys as `A | B | C`: its log levels said DEBUG | INFO |
 * WARNING | ERROR while the schema (and its error for "TRACE") also named CRITICAL. Each list
 * written that way must be exactly the schema's, and each such list must be in this table, so a
 * value added to or dropped from a schema shows here.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hubLogLevels } from "../../../hub/config/schema.js";
import { logLevels } from "../../../shared/config/schema.js";
import { fileActions } from "../../../shared/manifest/schema.js";

const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");

/** Each README list: where it stands (a pattern whose group 1 is the list) and the schema's values. */
const lists: { key: string; at: RegExp; values: readonly string[] }[] = [
  { key: "[general.logging] level", at: /^level = "INFO" +# ([A-Z |]+[A-Z])/m, values: logLevels },
  { key: "hub.toml log_level", at: /`log_level` \(`info`; ([a-z |]+[a-z])/, values: hubLogLevels },
  { key: "files action", at: /`action`\s+([a-z_ |\n]+[a-z_])/, values: fileActions },
];

const split = (list: string) => list.split("|").map((v) => v.trim());

describe("the README's lists of enum values", () => {
  for (const { key, at, values } of lists)
    it(`${key} lists exactly the schema's values`, () => {
      const found = at.exec(readme)?.[1];
      expect(found, `README has no list for ${key}`).toBeDefined();
      expect(split(found ?? "")).toEqual([...values]);
    });

  it("every `A | B | C` list of lowercase or uppercase words is one of the table's", () => {
    // Lists of config values in a code comment or in prose: three or more words joined by " | ".
    // The usage block's lines (`ship release ... manifest | bump | …`) list subcommands, not values.
    const prose = readme
      .split("\n")
      .filter((line) => !/^ship(-hub)? /.test(line))
      .join("\n");
    const all = [...prose.matchAll(/(?:^|[\s#(])((?:[A-Za-z_]+ \|\s+){2,}[A-Za-z_]+)/gm)]
      .map((m) => split(m[1] ?? ""))
      .filter((words) => words.every((w) => /^[a-z_]+$/.test(w) || /^[A-Z]+$/.test(w)));
    const known = lists.map(({ values }) => values.join());
    const unknown = all.filter((words) => !known.includes(words.join())).map((w) => w.join(" | "));
    expect(unknown).toEqual([]);
  });
});
