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

/** The message of the bad-input error `run` throws, or undefined when it returns. */
function failure(run: () => unknown): string | undefined {
  try {
    run();
  } catch (caught) {
    expect(caught).toBeInstanceOf(BadInputError);
    return (caught as Error).message;
  }
  return undefined;
}

const LEVELS = (n: number, line: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => line(i)).join("");

/** Every way YAML nests, each past the limit; the position is the first collection past it. */
const EVERY_KIND: [string, string, string][] = [
  ["a list of lists on one line (`- - - 1`)", `${"- ".repeat(3000)}1\n`, "c.yaml:1:1001 "],
  [
    "complex keys (`? `) under complex keys",
    `${LEVELS(3000, (i) => `${"  ".repeat(i)}? \n`)}${"  ".repeat(3000)}x\n`,
    "c.yaml:501:1001 ",
  ],
  [
    "lists of mappings (`- a:`)",
    `${LEVELS(1500, (i) => `${"    ".repeat(i)}- a:\n`)}${"    ".repeat(1500)}1\n`,
    "c.yaml:251:1001 ",
  ],
  [
    "flow collections inside block ones",
    `${LEVELS(300, (i) => `${" ".repeat(i)}a:\n`)}${" ".repeat(300)}x: ${"[".repeat(300)}${"]".repeat(300)}\n`,
    "c.yaml:301:",
  ],
];

describe("a YAML config nested past the limit in any style", () => {
  it.each(EVERY_KIND)("%s: bad input at the first collection past the limit", (_what, deep, where) => {
    const message = failure(() => merge("yaml", deep, "x: 1\n", "x: 1\n"));
    expect(message).toContain(
      "cannot merge: the server's copy does not parse: it nests tables and lists more than 500 levels deep",
    );
    expect(message?.startsWith(where), message).toBe(true);
  });

  it("each copy is named: the release's", () => {
    const deep = `${"- ".repeat(3000)}1\n`;
    expect(failure(() => merge("yaml", "a: 1\n", deep, "a: 1\n"))).toContain(
      "the release's copy does not parse: it nests",
    );
  });

  it("500 levels of block lists (the top mapping included) still merge", () => {
    const list = (x: number) => `a:\n${LEVELS(499, (i) => `${"  ".repeat(i)}-\n`)}${"  ".repeat(499)}${x}\n`;
    const result = merge("yaml", list(2), list(3), list(1));
    expect(result.kept).toEqual(["a"]);
    expect(result.text).toBe(list(2));
  });

  // Counting brackets in the text took these for 600 levels of nesting and refused the copy.
  const NOT_NESTING: [string, string][] = [
    ["a comment", `# ${"[".repeat(600)}\nx: 2\n`],
    ["a block scalar", `text: |\n  ${"{".repeat(600)}\nx: 2\n`],
    ["a plain scalar", `text: a${"[".repeat(600)}\nx: 2\n`],
  ];
  it.each(NOT_NESTING)("brackets in %s are not nesting: the copy merges", (_what, current) => {
    const result = merge("yaml", current, "x: 3\ny: 1\n", "x: 1\n");
    expect(result.kept).toEqual(["x"]);
    expect(result.text).toContain("y: 1");
    expect(result.text).toContain(current.split("\n")[0]);
  });
});
