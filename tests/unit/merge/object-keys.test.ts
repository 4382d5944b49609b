/**
 * Top-level keys that share a name with Object.prototype's members (`constructor`, `toString`,
 * `__proto__`) are config keys like any other: the user's value under them is merged by the file's
 * strategy, not by whatever the prototype holds under that name.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { formats, read, write } from "./formats.js";

const doc = (entries: Record<string, unknown>): Record<string, unknown> => {
  // defineProperty, so `__proto__` is an own key and not the object's prototype.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entries)) {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
};

describe.each(formats)("%s: keys named like Object.prototype's members", (format) => {
  it.each(["constructor", "toString", "valueOf", "hasOwnProperty"])(
    "preserve_user keeps the user's changed %s",
    (key) => {
      const merged = mergeConfigFile({
        format,
        fileName: `config.${format}`,
        strategy: "preserve_user",
        base: write(format, doc({ [key]: "shipped", port: 1 })),
        current: write(format, doc({ [key]: "mine", port: 1 })),
        incoming: write(format, doc({ [key]: "new default", port: 2 })),
      });
      expect(read(format, merged.text)).toEqual(doc({ [key]: "mine", port: 2 }));
      expect(merged.kept).toEqual([key]);
      expect(merged.updated).toEqual(["port"]);
    },
  );

  it("replace reports a user's `__proto__` and `constructor` keys it removes", () => {
    const merged = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      strategy: "replace",
      current: write(format, doc({ ["__proto__"]: { a: 1 }, constructor: "x", port: 1 })),
      incoming: write(format, doc({ port: 2 })),
    });
    expect([...merged.removed].sort()).toEqual(["__proto__", "constructor"]);
    expect(merged.updated).toEqual(["port"]);
  });
});
