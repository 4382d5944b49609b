/**
 * A YAML list item the release keeps but moves, with the user's comment after it
 * (`- "80:80"   # http`, README's own example): the comment comes along, but the spaces the user
 * put before it are cut to one (`- "80:80" # http`), for a scalar item, and for the last line of a
 * mapping item (`strict: true   # ops: …`). README: items the release keeps keep your spelling and
 * your comments after them, as written; TOML keeps the same array item's line as the user wrote it,
 * and YAML keeps it where the item does not move.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (format: "yaml" | "toml", base: string, current: string, incoming: string) =>
  mergeConfigFile({ format, fileName: `c.${format}`, base, current, incoming, strategy: "preserve_user" });

describe("a kept list item the release moves keeps the user's line", () => {
  it('a scalar item: `- "80:80"   # http` as written', () => {
    const base = 'ports:\n  - "80:80"\n  - "443:443"\n';
    const current = 'ports:\n  - "80:80"   # http\n  - "443:443"\n';
    const result = merge("yaml", base, current, 'ports:\n  - "443:443"\n  - "80:80"\n');
    expect(result.text).toBe('ports:\n  - "443:443"\n  - "80:80"   # http\n');
    // TOML's array, the same move: the line as written.
    const toml = merge(
      "toml",
      'ports = [\n  "80:80",\n  "443:443",\n]\n',
      'ports = [\n  "80:80",   # http\n  "443:443",\n]\n',
      'ports = [\n  "443:443",\n  "80:80",\n]\n',
    );
    expect(toml.text).toBe('ports = [\n  "443:443",\n  "80:80",   # http\n]\n');
  });

  it("a mapping item keyed by module, its last line commented", () => {
    const base = "overrides:\n  - module: a.*\n    strict: true\n  - module: b.*\n    strict: false\n";
    const current = base.replace("strict: true\n", "strict: true   # ops: keep a strict\n");
    const incoming = "overrides:\n  - module: b.*\n    strict: false\n  - module: a.*\n    strict: true\n";
    const result = merge("yaml", base, current, incoming);
    expect(result.text).toBe(incoming.replace("strict: true\n", "strict: true   # ops: keep a strict\n"));
  });
});

describe("a kept list item the release moves keeps the user's line: the same kind", () => {
  const yaml = (base: string, current: string, incoming: string) => merge("yaml", base, current, incoming);

  it("a mapping item's first line commented, and a comment on each of its lines", () => {
    const base = "overrides:\n  - module: a.*\n    strict: true\n  - module: b.*\n    strict: false\n";
    const current = base
      .replace("module: a.*\n", "module: a.*    # ours\n")
      .replace("strict: true\n", "strict: true\t# tab\n");
    const incoming = "overrides:\n  - module: b.*\n    strict: false\n  - module: a.*\n    strict: true\n";
    expect(yaml(base, current, incoming).text).toBe(
      "overrides:\n  - module: b.*\n    strict: false\n  - module: a.*    # ours\n    strict: true\t# tab\n",
    );
  });

  it("a list under a nested key, indented as the user indents (4 spaces), moved up", () => {
    const base = "web:\n    ports:\n        - 80\n        - 443\n        - 8080\n";
    const current = base.replace("- 8080\n", "- 8080     # alt\n");
    const incoming = "web:\n  ports:\n    - 8080\n    - 80\n    - 443\n";
    expect(yaml(base, current, incoming).text).toBe(
      "web:\n    ports:\n        - 8080     # alt\n        - 80\n        - 443\n",
    );
  });

  it("items of a nested list inside a mapping item the release moves", () => {
    const a = "  - name: a\n    args:\n      - -v\n";
    const b = "  - name: b\n    args: []\n    env: prod\n    retries: 2\n";
    const verbose = (text: string) => text.replace("      - -v\n", "      - -v      # verbose\n");
    const result = yaml(`jobs:\n${a}${b}`, verbose(`jobs:\n${a}${b}`), `jobs:\n${b}${a}`);
    expect(result.text).toBe(verbose(`jobs:\n${b}${a}`));
  });

  it("a flow mapping item with the user's spacing", () => {
    const base = "ports:\n  - {host: 80}\n  - {host: 443}\n";
    const current = "ports:\n  - {host: 80}    # http\n  - {host: 443}\n";
    const incoming = "ports:\n  - {host: 443}\n  - {host: 80}\n";
    expect(yaml(base, current, incoming).text).toBe("ports:\n  - {host: 443}\n  - {host: 80}    # http\n");
  });

  it("CRLF", () => {
    const base = 'ports:\n  - "80:80"\n  - "443:443"\n';
    const current = 'ports:\r\n  - "80:80"   # http\r\n  - "443:443"\r\n';
    const result = yaml(base, current, 'ports:\n  - "443:443"\n  - "80:80"\n');
    expect(result.text).toBe('ports:\r\n  - "443:443"\r\n  - "80:80"   # http\r\n');
  });
});
