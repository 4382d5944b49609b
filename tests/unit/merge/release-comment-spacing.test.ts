/**
 * A line the merge writes from the release's copy keeps the release's spacing before its comment:
 * a key that comes back in a YAML mapping opened anew (the operator deleted it, the release changed
 * one of its keys), or a key the release adds, came with the library's single space
 * (`x: 5      # five` → `x: 5 # five`), where TOML's text edit brings the release's line as written.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, current: string, incoming: string) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

describe("a comment on a line the merge writes from the release", () => {
  it("a key that comes back in a mapping the operator deleted", () => {
    const base = "a: 1\nb:\n  x: 1\n  keep: v\n";
    const incoming = "a: 1\nb:\n  x: 5      # five\n  keep: v   # kept\n";
    const result = merge(base, "a: 1  # mine\n", incoming);
    expect(result.text).toBe("a: 1  # mine\nb:\n  x: 5      # five\n");
    expect(result.warnings).toEqual([]);
  });

  it("the same where the operator's copy is in the library's own layout", () => {
    const base = "a: 1\nb:\n  x: 1\n  keep: v\n";
    const incoming = "a: 1\nb:\n  x: 5\t\t# five\n  keep: v\n";
    const result = merge(base, "a: 1\n", incoming);
    expect(result.text).toBe("a: 1\nb:\n  x: 5\t\t# five\n");
  });

  it("a key the release adds to a mapping, in the operator's indentation", () => {
    const base = "db:\n    host: a\n";
    const current = "db:\n    host: mine   # ops\n";
    const incoming = "db:\n  host: a\n  pool: 5        # connections\n  idle: 10 # seconds\n";
    const result = merge(base, current, incoming);
    expect(result.text).toBe(
      "db:\n    host: mine   # ops\n    pool: 5        # connections\n    idle: 10 # seconds\n",
    );
    expect(result.warnings).toEqual([]);
  });

  it("two added keys alike bar spacing each take their own line's", () => {
    const base = "a: 1\n";
    const incoming = "a: 1\nb:\n  x: 1   # n\nc:\n  x: 1         # n\n";
    const result = merge(base, "a: 1  # mine\n", incoming);
    expect(result.text).toBe("a: 1  # mine\nb:\n  x: 1   # n\nc:\n  x: 1         # n\n");
  });
});

describe("a comment on a line the release adds beside a line both changed", () => {
  it("a key added under one whose value and the operator's comment changed", () => {
    const result = merge("a: 1\n...\n", "a: 1   # m\n...\n", "a: 2\nb: 3    # b\n...\n");
    expect(result.text).toBe("a: 2   # m\nb: 3    # b\n...\n");
    expect(result.warnings).toEqual([]);
  });

  it("the operator's spacing on the line both changed stays theirs", () => {
    const result = merge("port: 1 # http\n", "port: 1      # http\n", "port: 2  # http\nnew: 1   # n\n");
    expect(result.text).toBe("port: 2      # http\nnew: 1   # n\n");
  });
});
