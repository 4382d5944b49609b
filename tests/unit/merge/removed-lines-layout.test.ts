/**
 * A YAML mapping or list written with a comment on its key's line (`db: # main`) that the release
 * turns into a single value: its lines go with it. The merge's WARNING named each of them as
 * "rewritten in the merge's own layout" (`line 2 (`host: x`) lost its layout …`), a line that is in
 * no way in the merged file. The comment on the key's line is the key's: it stays on that line, above the new value
 * (yaml-key-line-comment.test.ts).
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, current: string, incoming: string) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

describe("lines of a value the release made a single value", () => {
  it("a mapping: gone, not said to have lost their layout", () => {
    const base = "a: 1\ndb:\n  host: x\n  port: 1\nz: 2\n";
    const result = merge(base, base.replace("db:\n", "db: # main\n"), "a: 1\ndb: pg://\nz: 2\n");
    expect(result.text).toBe("a: 1\ndb: # main\n  pg://\nz: 2\n");
    expect(result.warnings).toEqual([]);
  });

  it("a list: the same", () => {
    const result = merge("h:\n  - a\n", "h: # main\n  - a\n", "h: b\n");
    expect(result.text).toBe("h: # main\n  b\n");
    expect(result.warnings).toEqual([]);
  });

  it("a line the merge did rewrite is still named", () => {
    // Spread over two lines by the user, changed by the release: written in the merge's layout.
    const base = "msg: hello world\n";
    const result = merge(base, "msg: hello\n  world\n", "msg: hello there\n");
    expect(result.text).toBe("msg: hello there\n");
    expect(result.warnings.join("\n")).toMatch(/lost (its|their) layout/);
  });
});
