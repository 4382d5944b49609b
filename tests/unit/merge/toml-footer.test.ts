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

// Which comment lines are a setting commented out in the last table is what TOML reads once the `#`
// goes, not a text pattern: a pattern took prose with an `=` or brackets for a setting (the footer
// under it went with the table, a table the release adds landing above it), cut a commented-out
// array written over several lines after its first line (the added table went inside it), and took
// a quoted key with a space for prose.
describe("a TOML comment under the last key: the table's setting commented out, or the footer", () => {
  const base = "a = 1\n\n[b]\nc = 2\n";
  const incoming = "a = 1\n\n[b]\nc = 2\n\n[z]\nq = 1\n";
  const added = "\n[z]\nq = 1\n";

  it.each([
    ["no space after #", "#key=1\n"],
    ["a header spaced inside", "#  [a.b]\n"],
    ["an array of tables' header", "# [[x]]\n"],
    ["a string holding #", '# key = "a # b"\n'],
    ["a quoted key with a space", '# "my key" = 1\n'],
    ["a dotted key", "# b.c.d = true\n"],
    ["an array over several lines", '# hosts = [\n#   "a",\n#   "b",\n# ]\n'],
    ["a multi-line string", '# motd = """\n# hello\n# """\n'],
    // Not TOML until quoted, but a setting as docs show one: the operator uncomments it here.
    ["a value of one unquoted word", "# log_level = info\n"],
    ["an unquoted path with a comment after it", "# file = /var/log/app.log  # default\n"],
    ["a dotted key, an unquoted word", "# log.format = json\n"],
  ])("%s stays with its table, the footer under it stays last", (_name, setting) => {
    const result = merge(`a = 1\n\n[b]\nc = 2\n${setting}# managed by ops\n`, incoming, base);
    expect(result.text).toBe(`a = 1\n\n[b]\nc = 2\n${setting}${added}\n# managed by ops\n`);
    expect(result.warnings).toEqual([]);
  });

  it.each([
    ["prose with = in it", "# see a = b in the docs\n"],
    ["prose reading key = word", "# note = this file is managed\n"],
    ["prose reading key = two words", "# owner = ops team\n"],
    ["brackets around prose", "# [see the docs]\n"],
    ["a footnote mark", "# [1] https://example.com/guide\n"],
  ])("%s is the footer: the added table goes above it", (_name, footer) => {
    const result = merge(`a = 1\n\n[b]\nc = 2\n${footer}`, incoming, base);
    expect(result.text).toBe(`a = 1\n\n[b]\nc = 2\n${added}\n${footer}`);
    expect(result.warnings).toEqual([]);
  });

  it("with CRLF line endings, an array over several lines stays whole with its table", () => {
    const crlf = (text: string) => text.replace(/\n/g, "\r\n");
    const setting = '# hosts = [\n#   "a",\n# ]\n';
    const result = merge(crlf(`a = 1\n\n[b]\nc = 2\n${setting}# managed by ops\n`), incoming, base);
    expect(result.text).toBe(crlf(`a = 1\n\n[b]\nc = 2\n${setting}${added}\n# managed by ops\n`));
  });

  it("a table the release removes takes its commented-out array along, the prose footer stays", () => {
    const setting = '# hosts = [\n#   "a",\n# ]\n';
    const result = merge(`a = 1\n\n[b]\nc = 2\n${setting}# see a = b in the docs\n`, "a = 1\n", base);
    expect(result.text).toBe("a = 1\n\n# see a = b in the docs\n");
  });
});

// A copy of comments alone (every setting commented out, a header paragraph and a footer): a key
// the release adds went after the footer, so with a table added above the footer it landed inside
// that table, and the whole file was rewritten from values, every comment lost.
describe("a TOML copy holding only comments", () => {
  const incoming = "a = 1\n\n[d]\nn = 2\n";

  it.each([
    ["a footer alone", "\n# footer\n", "\na = 1\n\n[d]\nn = 2\n\n# footer\n"],
    ["a header and a footer", "# myapp\n\n# port = 80\n", "# myapp\n\na = 1\n\n[d]\nn = 2\n\n# port = 80\n"],
  ])("%s: new keys and tables go above the footer, keys first", (_name, current, expected) => {
    for (const base of ["", undefined]) {
      const result = mergeConfigFile({
        format: "toml",
        fileName: "config.toml",
        current,
        incoming,
        ...(base === undefined ? {} : { base }),
        strategy: "preserve_user",
      });
      expect(result.text).toBe(expected);
      expect(result.warnings).toEqual([]);
      expect(result.added).toEqual(["a", "d"]);
    }
  });

  it("a key alone goes above the footer too", () => {
    const result = merge("\n# footer\n", "a = 1\n", "");
    expect(result.text).toBe("\na = 1\n\n# footer\n");
  });
});
