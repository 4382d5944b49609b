/**
 * The safety net that names every comment of the user's a merge lost skipped a comment whose text
 * began another one a WARNING already named: `old = 2 # tls` went with the removed key, unnamed,
 * because the replaced list's warning named `# tls port`; so did a line of it that lost its layout.
 * Each comment must be named itself.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (format: "toml" | "yaml", base: string, current: string, incoming: string) =>
  mergeConfigFile({
    format,
    fileName: `config.${format}`,
    current,
    incoming,
    base,
    strategy: "preserve_user",
  });

describe("a lost comment whose text begins another named one", () => {
  it("is still named (TOML)", () => {
    const result = merge(
      "toml",
      "a = 1\nold = 2\nports = [\n  80,\n  443,\n]\n",
      "a = 1\nold = 2 # tls\nports = [\n  80,\n  443, # tls port\n]\n",
      "a = 1\nports = [\n  80,\n  8443,\n]\n",
    );
    expect(result.removed).toEqual(["old"]);
    expect(result.warnings).toContain(
      "your comments went with the keys the merge removed (old): # tls (line 2)",
    );
  });

  it("is still named (YAML)", () => {
    const result = merge(
      "yaml",
      "a: 1\nold: 2\nports:\n  - 80\n  - 443\n",
      "a: 1\nold: 2 # tls\nports:\n  - 80\n  - 443 # tls port\n",
      "a: 1\nports:\n  - 80\n  - 8443\n",
    );
    expect(result.removed).toEqual(["old"]);
    expect(result.warnings.some((w) => w.endsWith("(old): # tls (line 2)"))).toBe(true);
  });

  it("is still named among the lines that lost their layout (YAML)", () => {
    const result = merge(
      "yaml",
      "desc: a long\n  text here\nports:\n  - 80\n  - 443\n",
      "desc: a long\n  text here # tls\nports:\n  - 80\n  - 443 # tls port\n",
      "desc: a longer\n  text here\nports:\n  - 80\n  - 8443\n",
    );
    expect(result.text).toBe("desc: a longer text here # tls\nports:\n  - 80\n  - 8443\n");
    expect(result.warnings.find((w) => w.includes("lost their layout"))).toContain("2 (`text here # tls`)");
  });
});
