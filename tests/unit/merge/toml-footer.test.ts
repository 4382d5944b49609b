import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

// A footer comment right under the last key, with no blank line between (`# managed by ops`), was
// read as a comment of the last table: a table the release adds went after it, the footer now in the
// middle of the file, and a removal of that table took the footer along. A comment that reads as a
// commented-out setting (`# ttl = 30`, `# [extra]`) still belongs to the table above it.

function merge(current: string, incoming: string, base: string) {
  return mergeConfigFile({
    format: "toml",
    fileName: "config.toml",
    current,
    incoming,
    base,
    strategy: "preserve_user",
  });
}

describe("a TOML footer right under the last key", () => {
  const base = "a = 1\n\n[b]\nc = 2\n";
  const incoming = "a = 1\n\n[b]\nc = 2\n\n[z]\nq = 1\n";

  it.each([
    ["one line", "# managed by ops\n"],
    ["several lines", "# managed by ops\n# do not edit by hand\n"],
    ["after a commented-out setting of the table", "# c = 3\n# managed by ops\n"],
    ["with CRLF line endings", "# managed by ops\n"],
  ])("%s: a table the release adds goes above it", (name, footer) => {
    const crlf = name.includes("CRLF");
    const eol = (text: string) => (crlf ? text.replace(/\n/g, "\r\n") : text);
    const commentedOut = footer.startsWith("# c = 3\n") ? "# c = 3\n" : "";
    const result = merge(eol(`a = 1\n\n[b]\nc = 2\n${footer}`), incoming, base);
    const rest = footer.slice(commentedOut.length);
    expect(result.text).toBe(eol(`a = 1\n\n[b]\nc = 2\n${commentedOut}\n[z]\nq = 1\n\n${rest}`));
    expect(result.warnings).toEqual([]);
  });

  it("a commented-out setting alone under the last key stays with its table", () => {
    const result = merge("a = 1\n\n[b]\nc = 2\n# ttl = 30\n", incoming, base);
    expect(result.text).toBe("a = 1\n\n[b]\nc = 2\n# ttl = 30\n\n[z]\nq = 1\n");
  });

  it("a table the user deleted, a key of which the release changed, opens above it", () => {
    const result = merge(
      "a = 1\n\n[b]\nc = 2\n# managed by ops\n",
      'a = 1\n\n[b]\nc = 2\n\n[z]\nq = 2\nr = "r"\n',
      'a = 1\n\n[b]\nc = 2\n\n[z]\nq = 1\nr = "r"\n',
    );
    expect(result.text).toBe("a = 1\n\n[b]\nc = 2\n\n[z]\nq = 2\n\n# managed by ops\n");
    expect(result.warnings).toEqual([]);
  });

  it("a table the release removes leaves the footer under it in place", () => {
    const result = merge("a = 1\n\n[b]\nc = 2\n# managed by ops\n", "a = 1\n", base);
    expect(result.text).toBe("a = 1\n\n# managed by ops\n");
    expect(result.warnings).toEqual([]);
  });
});
