/**
 * A config nested thousands of levels deep ran the merge's recursion out of stack: TOML failed at
 * the apply with "Maximum call stack size exceeded", JSON was called "not valid JSON" at 1:1, YAML
 * quoted the stack's message. Up to 500 levels (the file's top table included) a copy merges;
 * deeper, it is refused as bad input naming the file and how deep it nests.
 */
import { describe, expect, it } from "vitest";
import { type MergeFormat, mergeConfigFile } from "../../../agent/merge/index.js";
import { BadInputError } from "../../../shared/errors.js";

/** `levels` tables one inside the other, the file's top one included, the innermost holding `x`. */
function nested(format: MergeFormat, levels: number, x: number): string {
  if (format === "toml") return `${"a.".repeat(levels - 1)}x = ${x}\n`;
  const open = format === "json" ? '{"a": ' : "{a: ";
  return `${open.repeat(levels - 1)}{${format === "json" ? '"x"' : "x"}: ${x}}${"}".repeat(levels - 1)}\n`;
}

const merge = (format: MergeFormat, current: string, incoming: string, base: string) =>
  mergeConfigFile({ format, fileName: `c.${format}`, current, incoming, base, strategy: "preserve_user" });

describe.each(["json", "yaml", "toml"] as const)("%s", (format) => {
  it("500 levels deep merges, in flow style and (YAML) in blocks", () => {
    const result = merge(format, nested(format, 500, 2), nested(format, 500, 3), nested(format, 500, 1));
    expect(result.kept).toHaveLength(1);
    expect(result.kept[0]).toMatch(/^(a\.){499}x$/);
    if (format !== "yaml") return;
    const block = (x: number) =>
      `${Array.from({ length: 499 }, (_, i) => `${" ".repeat(i)}a:\n`).join("")}${" ".repeat(499)}x: ${x}\n`;
    expect(merge(format, block(2), block(3), block(1)).kept).toEqual(result.kept);
  });

  it("deeper is refused as bad input, naming the copy and the limit", () => {
    for (const levels of [501, 5000]) {
      const deep = nested(format, levels, 2);
      let error: unknown;
      try {
        merge(format, deep, nested(format, 3, 3), nested(format, 3, 1));
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(BadInputError);
      const message = (error as Error).message;
      expect(message).toContain(
        "cannot merge: the server's copy does not parse: it nests tables and lists more than 500 levels deep",
      );
      // Where it goes too deep: the bracket past the limit, or the key path down to it.
      expect(message).toMatch(format === "toml" ? /\(under a\.a\.a\.…\)/ : /^c\.\w+:1:\d+ /);
      expect(message).not.toMatch(/call stack|not valid JSON/);
    }
  });
});
