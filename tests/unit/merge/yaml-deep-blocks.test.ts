/**
 * The 500-level limit on a merged config's nesting holds for flow style (JSON, YAML `{…}`/`[…]`,
 * TOML arrays, inline tables and dotted keys), but a YAML copy nested thousands deep in block
 * style (an indented list of lists, or of mappings) still runs out of stack: bad input (exit 2)
 * that says "the server's copy does not parse: Maximum call stack size exceeded", the very words
 * the limit was made to replace. It is refused naming the copy and the limit.
 */
import { describe, expect, it } from "vitest";
import { type MergeFormat, mergeConfigFile } from "../../../agent/merge/index.js";
import { BadInputError } from "../../../shared/errors.js";

const merge = (format: MergeFormat, current: string, incoming: string, base: string) =>
  mergeConfigFile({ format, fileName: `c.${format}`, current, incoming, base, strategy: "preserve_user" });

const DEEP: [string, MergeFormat, string, string][] = [
  [
    "YAML block lists",
    "yaml",
    `a:\n${Array.from({ length: 3000 }, (_, i) => `${"  ".repeat(i)}-\n`).join("")}${"  ".repeat(3000)}1\n`,
    "a: [1]\n",
  ],
  [
    "YAML block mappings",
    "yaml",
    `${Array.from({ length: 3000 }, (_, i) => `${" ".repeat(i)}a:\n`).join("")}${" ".repeat(3000)}x: 1\n`,
    "x: 1\n",
  ],
];

describe("a YAML config nested past the limit in block style", () => {
  it.each(DEEP)("%s: bad input naming the copy, not a stack overflow", (_what, format, deep, plain) => {
    let error: unknown;
    try {
      merge(format, deep, plain, plain);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BadInputError);
    const message = (error as Error).message;
    expect(message).toContain("cannot merge: the server's copy does not parse");
    expect(message).toContain("more than 500 levels deep");
    expect(message).not.toMatch(/call stack|not valid JSON/i);
  });
});
