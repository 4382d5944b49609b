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
