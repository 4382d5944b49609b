/**
 * A footer (`# eof`, written at column 0) under a file whose last value is a list of mappings is
 * held, in the yaml library, by the list's last item, together with a comment of that item's own
 * written right above it. An item the release appended to the list landed under the footer, which
 * then sat in the middle of the list (and read as a note on the new item). The footer stays last.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, current: string, incoming: string) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

describe("a footer under a list that ends the file", () => {
  const base = "svc:\n  - name: a\n    port: 1\n";
  const b = "  - name: b\n    port: 3\n";

  it("stays last when the release appends an item after the user's commented one", () => {
    const current = "svc:\n  - name: a\n    port: 1\n    # end of a\n# eof\n";
    const result = merge(base, current, `${base}${b}`);
    expect(result.text).toBe(`svc:\n  - name: a\n    port: 1\n    # end of a\n${b}# eof\n`);
    expect(result.warnings).toEqual([]);
  });

  it("stays last, as its own paragraph, when the release also changes that item", () => {
    const current = "svc:\n  - name: a\n    port: 1\n    # end of a\n\n# eof\n# by ops\n";
    const result = merge(base, current, `svc:\n  - name: a\n    port: 2\n${b}`);
    expect(result.text).toBe(`svc:\n  - name: a\n    port: 2\n    # end of a\n${b}\n# eof\n# by ops\n`);
    expect(result.warnings).toEqual([]);
  });

  it("stays last under a scalar list's closing comment", () => {
    const result = merge(
      "hosts:\n  - a\n",
      "hosts:\n  - a\n  # hosts end\n# eof\n",
      "hosts:\n  - a\n  - b\n",
    );
    expect(result.text).toBe("hosts:\n  - a\n  - b\n  # hosts end\n# eof\n");
  });
});
