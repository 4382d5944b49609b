import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { readTomlValues, writeTomlValues } from "../../../agent/merge/toml-value-text.js";

const fixtures = join(import.meta.dirname, "../../fixtures/merge/toml-comments");
const fixture = (name: string) => readFileSync(join(fixtures, name), "utf8");

function mergeToml(
  current: string,
  incoming: string,
  extra: { base?: string; strategy?: "update_only" } = {},
) {
  return mergeConfigFile({
    format: "toml",
    fileName: "config.toml",
    current,
    incoming,
    base: extra.base,
    strategy: extra.strategy ?? "preserve_user",
  });
}

/** The release's value wins in this top-level section (`merge_strategies: { key: merge_smart }`). */
function mergeSmartSection(current: string, incoming: string, section: string) {
  return mergeConfigFile({
    format: "toml",
    fileName: "config.toml",
    current,
    incoming,
    base: "",
    strategy: "preserve_user",
    sections: { [section]: "merge_smart" },
  });
}

/** The one WARNING such a merge gives: with no keys in the previous release's copy, every value is the user's. */
const smartTook = (section: string, key: string) =>
  `the merge_strategies section "${section}" (merge_smart) took the release's values over your changes to the key ${key} (changed, added or deleted since the previous release's copy); your copy is in this update's backup (ship --list-backups); to keep such a value, list it in preserve_keys or use preserve_user`;

describe("TOML merges keep the server copy's comments and spelling when edits are line edits", () => {
  it("three-way merge of a commented config: exact text", () => {
    const result = mergeToml(fixture("current.toml"), fixture("incoming.toml"), {
      base: fixture("base.toml"),
    });
    expect(result.text).toBe(fixture("expected.toml"));
    expect(result.warnings).toEqual([]);
    expect(result.kept.sort()).toEqual(["database.url", "server.host"]);
    expect(result.updated.sort()).toEqual(["database.pool.size", "server.timeout", "server.workers"]);
    expect(result.added.sort()).toEqual(["metrics", "server.grace"]);
    expect(result.removed).toEqual(["legacy"]);
  });

  it("adds keys after the last key of their table, with the release's comment, in a CRLF file", () => {
    const current = "# top\r\na = 1\r\n\r\n[t]\r\nx = 0x10 # hex\r\n\r\n[u]\r\n";
    const incoming = "a = 1\nb = 'two'\n[t]\nx = 1\n# why y\ny = 1.0\n[u]\nz = [1, 2]\n";
    expect(mergeToml(current, incoming, { strategy: "update_only" }).text).toBe(
      "# top\r\na = 1\r\nb = 'two'\r\n\r\n[t]\r\nx = 0x10 # hex\r\n# why y\r\ny = 1.0\r\n\r\n[u]\r\nz = [1, 2]\r\n",
    );
  });

  it("adds to a table defined by dotted keys beside them", () => {
    const result = mergeToml("log.level = 'info'\n# end\n", "log.level = 'warn'\nlog.format = 'json'\n");
    expect(result.text).toBe("log.level = 'info'\nlog.format = 'json'\n# end\n");
  });

  it("a value turning into a table and back", () => {
    const base = "cache = 'none'\n\n[proxy]\nurl = ''\n";
    const incoming = "proxy = false\n\n[cache]\nsize = 64\n";
    const result = mergeToml(base, incoming, { base });
    expect(result.text).toBe("proxy = false\n\n[cache]\nsize = 64\n");
    expect(result.warnings).toEqual([]);
  });

  it("opens [a] above [a.b] to add a key to a table the file defines only through its sub-table", () => {
    const result = mergeToml("# mine\n[a.b]\nc = 1\n", "[a]\nd = 2\ne = 3\n[a.b]\nc = 1\n");
    expect(result.text).toBe("[a]\nd = 2\ne = 3\n\n# mine\n[a.b]\nc = 1\n");
    expect(result.warnings).toEqual([]);
  });

  it("opens [a] above [a.b] also when [a.b] holds dotted keys, which define tables below it, not [a]", () => {
    // The dotted key `c.d` under [a.b] was taken for one defining [a]: the whole file was rewritten
    // from values, its comments, blank lines and spellings lost.
    const user = "# mine\ntop = 0xff # hex\n\n# b\n[a.b]\nc.d = 1 # d\ne = 2\n";
    const base = "top = 1\n\n[a.b]\nc.d = 1\ne = 2\n";
    const result = mergeToml(user, "top = 1\n\n[a]\nz = 1\n\n[a.b]\nc.d = 1\ne = 2\n", { base });
    expect(result.text).toBe("# mine\ntop = 0xff # hex\n\n[a]\nz = 1\n\n# b\n[a.b]\nc.d = 1 # d\ne = 2\n");
    expect(result.added).toEqual(["a.z"]);
    expect(result.warnings).toEqual([]);
    // The same under a dotted key deeper down, and beside a dotted key that does define the table.
    const deeper = mergeToml("[x]\ny.k = 1\n[x.y.z]\nw.v = 1\n", "[x]\ny.k = 1\ny.n = 2\n[x.y.z]\nw.v = 1\n");
    expect(deeper.text).toBe("[x]\ny.k = 1\ny.n = 2\n[x.y.z]\nw.v = 1\n");
    expect(deeper.warnings).toEqual([]);
  });

  it("removes two tables a blank line parts and adds one where they were as text edits", () => {
    // The two removals share the blank line between them; the new table, moved to the start of the
    // second, still fell inside the first, and the whole file was rewritten from values.
    const user = "# mine\nkeep = 1\n\n[b.a.e]\nn = 1 # e\n\n[e]\nd = 2\n";
    const base = "keep = 1\n\n[b.a.e]\nn = 1\n\n[e]\nd = 2\n";
    const result = mergeToml(user, "keep = 1\n\n[b.a.d]\nc = 1\n", { base });
    expect(result.text).toBe("# mine\nkeep = 1\n\n[b.a.d]\nc = 1\n");
    expect(result.removed).toEqual(["b.a.e", "e"]);
    expect(result.warnings.some((w) => w.startsWith("rewrote"))).toBe(false);
  });
});

describe("TOML arrays of tables", () => {
  it("are values: a changed array of tables is replaced whole, the rest of the file untouched", () => {
    const base = "# servers\n[[servers]]\nname = 'a'\n[servers.meta]\nzone = 1\n\n[[servers]]\nname = 'b'\n";
    const current = `title = 'mine' # edited\n${base}`;
    const incoming = "title = 'app'\n[[servers]]\nname = 'c'\n";
    const result = mergeToml(current, incoming, { base: `title = 'app'\n${base}` });
    expect(result.updated).toEqual(["servers"]);
    expect(result.kept).toEqual(["title"]);
    // In place of the user's blocks, keeping the comment above them; the user's [servers.meta] goes too.
    expect(result.text).toBe("title = 'mine' # edited\n# servers\n[[servers]]\nname = 'c'\n");
    expect(result.warnings).toEqual([]);
  });
});

describe("TOML merges keep the form of files edited by hand", () => {
  it("a file without a final newline keeps going without one, also when a table is appended", () => {
    const result = mergeToml("a = 1\n[t]\nb = 2", "a = 1\n[t]\nb = 2\nc = 3\n[u]\nx = 1\n");
    expect(result.text).toBe("a = 1\n[t]\nb = 2\nc = 3\n\n[u]\nx = 1");
  });

  it("keys and tables the release removes take the blank line after them along when they opened the file or a paragraph", () => {
    const removed = (current: string, incoming: string) =>
      mergeToml(current, incoming, { base: current }).text;
    const server = "[server]\nport = 8080\n";
    expect(removed(`old = 1\n\n${server}`, server)).toBe(server);
    expect(removed(`# old\n[old]\na = 1\n\n${server}`, server)).toBe(server);
    expect(removed(`old = 1\nolder = 2\n\n${server}`, server)).toBe(server);
    expect(removed(`# head\n\nold = 1\n\n${server}`, `# head\n\n${server}`)).toBe(`# head\n\n${server}`);
    expect(removed(`a = 1\n\nold = 2\n\n${server}`, `a = 1\n\n${server}`)).toBe(`a = 1\n\n${server}`);
    expect(removed(`[s]\na = 1\n\nold = 2\n\n${server}`, `[s]\na = 1\n${server}`)).toBe(
      `[s]\na = 1\n\n${server}`,
    );
    expect(removed("old = 1\r\n\r\n[server]\r\nport = 8080\r\n", server)).toBe("[server]\r\nport = 8080\r\n");
    // A blank line the user left where nothing was removed stays; a new key takes the removed one's place.
    expect(removed(`\n[old]\na = 1\n\n${server}`, server)).toBe(`\n${server}`);
    expect(removed(`old = 1\n\n${server}`, `new = 3\n${server}`)).toBe(`new = 3\n\n${server}`);
    // At the end of the file: the blank lines above the removed lines go, the file does not end blank.
    expect(removed("a = 1\n\nold = 2\n", "a = 1\n")).toBe("a = 1\n");
    expect(removed("[s]\na = 1\n\nold = 2\r\n", "[s]\na = 1\n")).toBe("[s]\na = 1\n");
  });

  it("new keys and their comments are indented like the user's keys they follow", () => {
    const current = "[a]\n  x = 1\n  [a.b]\n\ty = 2\n";
    const incoming = "[a]\nx = 1\n# new\nz = 3\n[a.b]\ny = 2\nw = [\n  1,\n]\n";
    const result = mergeToml(current, incoming);
    expect(result.text).toBe("[a]\n  x = 1\n  # new\n  z = 3\n  [a.b]\n\ty = 2\n\tw = [\n  1,\n]\n");
  });

  it("a key spelled with a \\U escape is edited in place, not rewritten", () => {
    const base = '"k\\U0001F600" = 1\n# mine\nb = 1\n';
    const result = mergeToml(base.replace("b = 1", "b = 1  # kept"), '"k\\U0001F600" = 1\nb = 2\n', { base });
    expect(result.text).toBe('"k\\U0001F600" = 1\n# mine\nb = 2  # kept\n');
    expect(result.warnings).toEqual([]);
  });

  it("an array the release changes keeps the user's style: one item per line, or one line", () => {
    // A pyproject's dependencies, one per line with a trailing comma, and a one-line list with
    // spaces inside its brackets; the release writes each the other way.
    const base = 'deps = ["requests", "click"]\nhosts = [\n    "a",\n]\n';
    const current = 'deps = [\n    "requests",\n    "click",\n]\nhosts = [ "a" ]   # ours\n';
    const incoming = 'deps = ["requests", "click", \'rich[all]\']\nhosts = [\n    "a",\n    "b",\n]\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(
      'deps = [\n    "requests",\n    "click",\n    \'rich[all]\',\n]\nhosts = [ "a", "b" ]   # ours\n',
    );
    expect(result.updated).toEqual(["deps", "hosts"]);
    expect(result.warnings).toEqual([]);
  });

  it("an item-per-line array the release changes keeps the user's comments on the items it still holds", () => {
    // A pyproject's dependencies with the operator's notes: every one went with the release's new
    // array, named in a WARNING, although only one of the items changed.
    const base = '[project]\ndependencies = [\n    "requests>=2.28",\n    "click>=8",\n]\n';
    const current =
      '[project]\ndependencies = [  # runtime\n    # pinned for CVE-2023-32681\n    "requests>=2.28",\n\n    # the CLI\n    "click>=8"   # cli\n    # more to come\n]\n';
    const incoming =
      '[project]\ndependencies = [\n    "requests>=2.31",\n    \'click>=8\',\n    "rich>=13",\n]\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(
      // The item it keeps is the user's, spelling included: not the release's 'click>=8'.
      '[project]\ndependencies = [  # runtime\n    "requests>=2.31",\n\n    # the CLI\n    "click>=8",   # cli\n    "rich>=13"\n    # more to come\n]\n',
    );
    expect(result.updated).toEqual(["project.dependencies"]);
    expect(result.warnings).toEqual([
      "project.dependencies: the release's value replaced yours, and your comments inside it went with it (# pinned for CVE-2023-32681 (line 3))",
    ]);
    const again = mergeToml(result.text, incoming, { base: incoming });
    expect(again.text).toBe(result.text);
  });

  it("an array the release changes with comments of its own keeps the user's comments and brings the release's", () => {
    // The release's array holding a comment was taken whole: the operator's `# pinned` on the item
    // the release kept went (named in a WARNING), though the README promises kept items keep them.
    const base = '[project]\ndependencies = [\n    "requests>=2.28",\n    "click>=8",\n]\n';
    const current =
      '[project]\ndependencies = [\n    # pinned for CVE-2023-32681\n    "requests>=2.28",\n    "click>=8",  # cli\n]\n';
    const incoming =
      '[project]\ndependencies = [  # runtime deps\n    "requests>=2.28",\n    "click>=8",  # command line\n    # pretty output\n    "rich>=13",  # new in 2.0\n    # more to come\n]\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(
      '[project]\ndependencies = [  # runtime deps\n    # pinned for CVE-2023-32681\n    "requests>=2.28",\n    "click>=8",  # cli\n    # pretty output\n    "rich>=13",  # new in 2.0\n    # more to come\n]\n',
    );
    expect(result.updated).toEqual(["project.dependencies"]);
    expect(result.warnings).toEqual([]);
    expect(mergeToml(result.text, incoming, { base: incoming }).text).toBe(result.text);
  });

  it("a one-line array the release changes keeps the user's padding inside its brackets", () => {
    // `x = [ 1 ]` came back as the release's `[1, 2]`.
    const result = mergeToml("[t]\nx = [ 1 ]\ny = [1]\n", "[t]\nx = [1, 2]\ny = [ 1, 2 ]\n", {
      base: "[t]\nx = [1]\ny = [1]\n",
    });
    expect(result.text).toBe("[t]\nx = [ 1, 2 ]\ny = [1, 2]\n");
    expect(result.warnings).toEqual([]);
  });

  it("an array the release changes keeps the user's spelling of the items it still holds", () => {
    // The release's `"click>=8"` replaced the operator's `'click>=8'`, and `80` their `0x50`, with no word.
    const base =
      '[project]\ndependencies = [\n    "requests>=2.28",\n    "click>=8",\n]\nports = [80, 443]\n';
    const current =
      "[project]\ndependencies = [\n    'requests>=2.28',\n    'click>=8',\n]\nports = [0x50, 443]\n";
    const incoming =
      '[project]\ndependencies = [\n    "requests>=2.28",\n    "click>=8",\n    "rich>=13",\n]\nports = [80, 443, 8443]\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(
      "[project]\ndependencies = [\n    'requests>=2.28',\n    'click>=8',\n    \"rich>=13\",\n]\nports = [0x50, 443, 8443]\n",
    );
    expect(result.warnings).toEqual([]);
    expect(mergeToml(result.text, incoming, { base: incoming }).text).toBe(result.text);
  });

  it("an inline-table item the release changes keeps the user's comments and spellings", () => {
    // The release changed web's port: `# the front` and `# main` went, named in a WARNING, and
    // 'web' became "web"; a changed scalar item's comments still go, named.
    const base = '[app]\nservers = [\n  { name = "web", port = 80 },\n  { name = "db", port = 5432 },\n]\n';
    const current =
      "[app]\nservers = [\n  # the front\n  { name = 'web', port = 80 },   # main\n  { name = \"db\", port = 5432 },\n]\n";
    const incoming =
      '[app]\nservers = [\n  { name = "web", port = 8080 },\n  { name = "db", port = 5432 },\n  { name = "cache", port = 6379 },\n]\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(
      '[app]\nservers = [\n  # the front\n  { name = \'web\', port = 8080 },   # main\n  { name = "db", port = 5432 },\n  { name = "cache", port = 6379 },\n]\n',
    );
    expect(result.warnings).toEqual([]);
    expect(mergeToml(result.text, incoming, { base: incoming }).text).toBe(result.text);
  });

  it("an [[array]] element the release changes keeps the user's comments and spellings", () => {
    // The release bumped admin's port: its text replaced the user's element, so `# ops: admin only
    // from VPN` and `# vpn` went (named in a WARNING) and 'admin' became "admin". Each element's
    // comment lines travel with its header, `# upstreams` with app's.
    const base = '[[upstream]]\nname = "app"\nport = 3000\n\n[[upstream]]\nname = "admin"\nport = 4000\n';
    const current =
      "# upstreams\n[[upstream]]\nname = \"app\"\nport = 0xBB8   # main app\n\n# ops: admin only from VPN\n[[upstream]]\nname = 'admin'\nport = 4000   # vpn\n";
    const incoming =
      '[[upstream]]\nname = "admin"\nport = 4001\nhost = "10.0.0.2"\n\n[[upstream]]\nname = "app"\nport = 3000\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(
      '# ops: admin only from VPN\n[[upstream]]\nname = \'admin\'\nport = 4001   # vpn\nhost = "10.0.0.2"\n\n# upstreams\n[[upstream]]\nname = "app"\nport = 0xBB8   # main app\n',
    );
    expect(result.warnings).toEqual([]);
    expect(mergeToml(result.text, incoming, { base: incoming }).text).toBe(result.text);
  });

  it("an [[array]] element the release changes brings the release's notes on the keys it changes", () => {
    // As for a key outside an array of tables: the release's `# raised for 2.0` and `# was 1` on
    // the port it bumps came only when the operator's element held no comment.
    const base = '[[ep]]\nname = "a"\nhost = "h"\n# the port\nport = 1\nsize = 1  # GB\n';
    const current = '[[ep]]\nname = "a"\nhost = "h"  # mine\n# the port\nport = 1\nsize = 1  # GB, ops\n';
    const incoming =
      '[[ep]]\nname = "a"\nhost = "h"\n# the port (raised for 2.0)\nport = 5  # was 1\nsize = 2  # GB\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(
      '[[ep]]\nname = "a"\nhost = "h"  # mine\n# the port (raised for 2.0)\nport = 5  # was 1\nsize = 2  # GB, ops\n',
    );
    expect(result.warnings).toEqual([]);
  });

  it("comments inside a value the release replaces whole go with it, with a warning naming them", () => {
    const base = "arr = [1, 2]\n[[s]]\nn = 1\n";
    const current = "arr = [\n  1, # one\n  2,\n]\n[[s]]\nn = 1 # first\n";
    const result = mergeToml(current, "arr = [3]\n[[s]]\nn = 3\n", { base });
    // The release's items, in the user's item-per-line style; the [[s]] element the release changed
    // is the user's, edited to its values, so its comment stays.
    expect(result.text).toBe("arr = [\n  3,\n]\n[[s]]\nn = 3 # first\n");
    expect(result.warnings).toEqual([
      "arr: the release's value replaced yours, and your comments inside it went with it (# one (line 2))",
    ]);
  });

  it("an inline table written anew keeps the white space inside its braces and between its members", () => {
    // Tabs came back as single spaces, with no word.
    const base = "t = { a = [1, 2], b = 2 }\n";
    const incoming = "t = { a = [1, 2], b = 3, c = 4 }\n";
    expect(mergeToml("t = {\ta = [1,2],\tb = 2\t}\n", incoming, { base }).text).toBe(
      "t = {\ta = [1,2],\tb = 3,\tc = 4\t}\n",
    );
    expect(mergeToml("t = {a = [1, 2],  b = 2}\n", incoming, { base }).text).toBe(
      "t = {a = [1, 2],  b = 3,  c = 4}\n",
    );
    // A comma after the last member (TOML 1.1) stays; it went.
    expect(mergeToml("t = { a = [1, 2], b = 2, }\n", incoming, { base }).text).toBe(
      "t = { a = [1, 2], b = 3, c = 4, }\n",
    );
  });

  it("an inline table written over lines (TOML 1.1) that the merge writes anew stays over lines, its comments with it", () => {
    // It came back on one line: its layout went with no word, its comments named as gone.
    const base = "x = 1\ndb = { host = 'h', port = 80, old = 1 }\n";
    const user =
      "x = 1\ndb = { # the db\n  # where it runs\n  host = 'h',   # the host\n  port = 0x50,\n  old = 1, # old\n  # end\n}\n";
    const result = mergeToml(user, "x = 1\ndb = { host = 'h2', port = 80, pool = 3 }\n", { base });
    expect(result.text).toBe(
      "x = 1\ndb = { # the db\n  # where it runs\n  host = 'h2',   # the host\n  port = 0x50,\n  pool = 3,\n  # end\n}\n",
    );
    expect(result.updated).toEqual(["db.host"]);
    // The comment on the member the release dropped goes with it, named.
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain("# old (line 6)");
    // No comma after the last member, and the brace indented, as written.
    const bare = mergeToml("t = {\n    a = 1,\n    b = 2\n  }\n", "t = { a = 1, b = 3, c = 4 }\n", {
      base: "t = { a = 1, b = 2 }\n",
    });
    expect(bare.text).toBe("t = {\n    a = 1,\n    b = 3,\n    c = 4\n  }\n");
    expect(bare.warnings).toEqual([]);
    // Members sharing a line: written on one line, and said.
    const shared = mergeToml("t = {\n  a = 1, b = 2,\n}\n", "t = { a = 1, b = 3 }\n", {
      base: "t = { a = 1, b = 2 }\n",
    });
    expect(shared.text).toBe("t = { a = 1, b = 3 }\n");
    expect(shared.warnings).toEqual([
      "t: the inline table you wrote over lines was written anew on one line, to change a value inside it (a member there shares a line with another or spans lines, so their layout could not be kept)",
    ]);
  });

  it("an inline table over lines keeps its comments also where the release's copy writes it over lines", () => {
    // The release's copy, unread member by member, was taken whole: the user's comments went
    // (named in a WARNING), though the same table on one line in the release's copy kept them.
    const user = "db = {\n  # where it runs\n  host = 'h', # the host\n  port = 80 # web\n}\n";
    const base = "db = {\n  host = 'h',\n  port = 80\n}\n";
    const incoming = "db = {\n  host = 'h2',\n  port = 80,\n  pool = 3\n}\n";
    const result = mergeToml(user, incoming, { base });
    expect(result.text).toBe(
      "db = {\n  # where it runs\n  host = 'h2', # the host\n  port = 80, # web\n  pool = 3\n}\n",
    );
    expect(result.updated).toEqual(["db.host"]);
    expect(result.added).toEqual(["db.pool"]);
    expect(result.warnings).toEqual([]);
  });

  it("an inline table written anew keeps its members' order, keys that read as numbers included", () => {
    // `{ zeta = 1, 404 = 1 }` came back as `{ 404 = 1, zeta = 2 }` (a JS object lists 404 first),
    // with no word, also in an array of inline tables.
    const base = "codes = { zeta = 1, 404 = 1, 200 = 1 }\ne = [\n  { name = 'a', 404 = 1 },\n]\n";
    const incoming =
      "codes = { zeta = 2, 404 = 1, 200 = 1, 301 = 1 }\ne = [\n  { name = 'a', 404 = 2 },\n]\n";
    const result = mergeToml(base, incoming, { base });
    expect(result.text).toBe(
      "codes = { zeta = 2, 404 = 1, 200 = 1, 301 = 1 }\ne = [\n  { name = 'a', 404 = 2 },\n]\n",
    );
    expect(result.warnings).toEqual([]);
  });

  it("an inline table written anew for a key inside it keeps the spelling of every member whose value stays", () => {
    // Written from values, the operator's 'literal', 0x1bb, 1e3, 1_000_000 and …:00Z came back as
    // "literal", 443, 1000.0, 1000000 and …:00.000Z, with no warning.
    const base = 'tls = { enabled = false, cert = "" }\ndb = { host = "a", pool = { size = 5 } }\n';
    const current =
      "tls = { enabled = true, cert = '/etc/a.pem', port = 0x1bb, ratio = 1e3, when = 1979-05-27T07:32:00Z, big = 1_000_000 }\n" +
      "db = {host = 'mine', pool = {size = 5, idle = 0o17}}\n";
    const incoming =
      'tls = { enabled = false, cert = "", protocols = ["TLSv1.3"] }\ndb = { host = "a", pool = { size = 10 } }\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(
      "tls = { enabled = true, cert = '/etc/a.pem', port = 0x1bb, ratio = 1e3, when = 1979-05-27T07:32:00Z, big = 1_000_000, protocols = [\"TLSv1.3\"] }\n" +
        "db = {host = 'mine', pool = {size = 10, idle = 0o17}}\n",
    );
    expect(result.added).toEqual(["tls.protocols"]);
    expect(result.updated).toEqual(["db.pool.size"]);
    expect(result.warnings).toEqual([]);
  });

  it("an inline table whose members the user only respelt keeps their spelling when the release adds one", () => {
    // The merged table equalled the release's, so the release's text was taken whole: 'a', 0x1538
    // and the items of ['x', 0x1] came back as "a", 5432 and ["x", 1], with no warning.
    const base = 'db = { host = "a", port = 5432 }\nopts = { p = ["x", 1] }\n';
    const current = "db = {host = 'a', port = 0x1538}\nopts = { p = ['x', 0x1] }\n";
    const incoming = 'db = { host = "a", port = 5432, pool = 10 }\nopts = { p = ["x", 1, 2], q = 1 }\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(
      "db = {host = 'a', port = 0x1538, pool = 10}\nopts = { p = ['x', 0x1, 2], q = 1 }\n",
    );
    expect(result.added).toEqual(["db.pool", "opts.q"]);
    expect(result.updated).toEqual(["opts.p"]);
    expect(result.warnings).toEqual([]);
    expect(mergeToml(result.text, incoming, { base: incoming }).text).toBe(result.text);
  });

  it("a table the release adds at the end goes above the file's footer, which stays last", () => {
    // It was appended after `# footer`, which then stood in the middle of the file.
    const base = "a = 1\n[b]\nc = 2\n";
    const current = "a = 1\n[b]\nc = 2\n# about c\n\n# footer: managed by ops\n";
    const result = mergeToml(current, "a = 1\n[b]\nc = 2\n\n[z]\nq = 1\n", { base });
    expect(result.text).toBe("a = 1\n[b]\nc = 2\n# about c\n\n[z]\nq = 1\n\n# footer: managed by ops\n");
    expect(result.warnings).toEqual([]);
  });

  it("an array of tables the release adds an element to keeps the user's elements it still holds, comments and all", () => {
    // Every [[upstream]] came back as the release wrote it, and the operator's comments in them went
    // (named in a WARNING), although only a new element was added.
    const base = '[[upstream]]\nname = "app"\nport = 3000\n\n[[upstream]]\nname = "admin"\nport = 4000\n';
    const current =
      '# upstreams\n[[upstream]]\nname = "app"\nport = 0xBB8   # main app\n\n# ops: admin only from VPN\n[[upstream]]\nname = "admin"\nport = 4000\n';
    const incoming = `${base}\n[[upstream]]\nname = "metrics"\nport = 9090\n`;
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(`${current}\n[[upstream]]\nname = "metrics"\nport = 9090\n`);
    expect(result.updated).toEqual(["upstream"]);
    expect(result.warnings).toEqual([]);
  });

  it("comments inside an inline table written anew for a key inside it: a warning names them", () => {
    const result = mergeToml("t = { a = [\n  1, # one\n] }\n", "t = { a = [1], b = 2 }\n");
    expect(result.text).toBe("t = { a = [1], b = 2 }\n");
    expect(result.warnings).toEqual([
      "t: the inline table was written anew to change t.b, and your comments inside it went with it (# one (line 2))",
    ]);
  });

  describe("a new table the release writes as dotted keys goes beside its siblings, not to the end", () => {
    it("at the top level: after the user's last top-level key, before the first [table]", () => {
      const current = 'name = "app"\nserver.host = "a"\n\n[other]\nx = 1\n';
      const incoming =
        'name = "app"\nserver.host = "a"\n# logging\nlog.level = "info"\nlog.sink.kind = "file"\n\n[other]\nx = 1\n';
      const result = mergeToml(current, incoming);
      expect(result.text).toBe(
        'name = "app"\nserver.host = "a"\n# logging\nlog.level = "info"\nlog.sink.kind = "file"\n\n[other]\nx = 1\n',
      );
      expect(result.added).toEqual(["log"]);
      expect(result.warnings).toEqual([]);
    });

    it("inside a [table]: among that table's keys", () => {
      const current = '[app]\nname = "app"\n\n[other]\nx = 1\n';
      const incoming = '[app]\nname = "app"\nlimits.cpu = 2\nlimits.mem = "1G"\n\n[other]\nx = 1\n';
      const result = mergeToml(current, incoming);
      expect(result.text).toBe('[app]\nname = "app"\nlimits.cpu = 2\nlimits.mem = "1G"\n\n[other]\nx = 1\n');
      expect(result.added).toEqual(["app.limits"]);
    });

    it("a table the release writes as a [header] still comes as a block", () => {
      const current = '[app]\nname = "app"\n\n[other]\nx = 1\n';
      const incoming = '[app]\nname = "app"\n\n[app.limits]\ncpu = 2\n\n[other]\nx = 1\n';
      expect(mergeToml(current, incoming).text).toBe(incoming);
    });
  });
});

describe("a table the user's file writes as dotted keys (log.level = …), removed or retyped by the release", () => {
  const base =
    '# app\nname = "x"\n# logging\nlog.level = "info"\nlog.file = "/var/log/x"\n\n[server]\nport = 1\n';
  const current = base.replace("port = 1", "port = 2 # mine");

  it("removed: its lines go with the comment above them, the rest of the file as it was", () => {
    const result = mergeToml(current, 'name = "x"\n\n[server]\nport = 1\n', { base });
    expect(result.text).toBe('# app\nname = "x"\n\n[server]\nport = 2 # mine\n');
    expect(result.removed).toEqual(["log"]);
    // `# logging` came with the previous release: its going is the release's change, not a loss.
    expect(result.warnings).toEqual([]);
  });

  it("retyped to a value: the value takes the dotted keys' place among the parent's keys", () => {
    const incoming = 'name = "x"\nlog = "syslog"\n\n[server]\nport = 1\n';
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe('# app\nname = "x"\nlog = "syslog"\n\n[server]\nport = 2 # mine\n');
    expect(result.updated).toEqual(["log"]);
    expect(result.warnings.some((w) => w.startsWith("rewrote"))).toBe(false);
  });

  it("inside a [table]: only that table's dotted lines go", () => {
    const user = "[c]\n# mine\na = 0\nlimits.cpu = 2\nb = 1\n";
    const result = mergeToml(user, "[c]\na = 0\nb = 1\n", { base: "[c]\na = 0\nlimits.cpu = 2\nb = 1\n" });
    expect(result.text).toBe("[c]\n# mine\na = 0\nb = 1\n");
    expect(result.warnings).toEqual([]);
  });
});

describe("a changed array of tables whose elements have sub-tables ([[srv]] with [srv.tls])", () => {
  it("keeps the blank line that parts the array from the table after it", () => {
    const base = '[[srv]]\nname = "a"\n[srv.tls]\ncert = "x"\n\n[other]\nk = 1\n';
    const result = mergeToml(base, base.replace('cert = "x"', 'cert = "y"'), { base });
    expect(result.text).toBe('[[srv]]\nname = "a"\n[srv.tls]\ncert = "y"\n\n[other]\nk = 1\n');
  });

  it("with two elements, each with its sub-table", () => {
    const base = "[[srv]]\nn = 1\n[srv.tls]\nc = 1\n\n[[srv]]\nn = 2\n[srv.tls]\nc = 2\n\n[other]\nk = 1\n";
    const incoming = "[[srv]]\nn = 1\n[srv.tls]\nc = 3\n\n[other]\nk = 1\n";
    expect(mergeToml(base, incoming, { base }).text).toBe(incoming);
  });
});

describe("a table the release removes, followed by a comment paragraph of the user's", () => {
  it("a banner for the next section, set apart by a blank line, stays", () => {
    const base = "a = 1\n\n[old]\nk = 1\n\n[b]\nx = 1\n";
    const current = "a = 1\n\n[old]\nk = 1\n\n# ---- Section B ----\n\n[b]\nx = 1\n";
    const result = mergeToml(current, "a = 1\n\n[b]\nx = 1\n", { base });
    expect(result.text).toBe("a = 1\n\n# ---- Section B ----\n\n[b]\nx = 1\n");
    expect(result.removed).toEqual(["old"]);
    expect(result.warnings).toEqual([]);
  });

  it("a footer at the end of the file stays; a comment right under the table's last key goes with it", () => {
    const base = "a = 1\n\n[old]\nk = 1\n";
    const current = "a = 1\n\n[old]\nk = 1\n# k is for old\n\n# footer: see the docs\n";
    const result = mergeToml(current, "a = 1\n", { base });
    expect(result.text).toBe("a = 1\n\n# footer: see the docs\n");
    expect(result.warnings).toEqual([
      "your comments went with the keys the merge removed (old): # k is for old (line 5)",
    ]);
  });
});

describe("TOML integers and floats are two types", () => {
  it("a release turning an integer the user never touched into a float (1 → 1.0) updates it", () => {
    const base = "ratio = 1\nretries = 3\n";
    const result = mergeToml(base, "ratio = 1.0\nretries = 3.0\n", { base });
    expect(result.text).toBe("ratio = 1.0\nretries = 3.0\n");
    expect(result.updated).toEqual(["ratio", "retries"]);
  });

  it("and back (2.0 → 2); the user's own float stays theirs", () => {
    const result = mergeToml("ratio = 2.0\nscale = 5.0\n", "ratio = 2\nscale = 1\n", {
      base: "ratio = 2.0\nscale = 1\n",
    });
    expect(result.text).toBe("ratio = 2\nscale = 5.0\n");
    expect(result.kept).toEqual(["scale"]);
  });

  it("a file rewritten from values keeps each number's type", () => {
    // The writer of the last resort (no input known to the tests reaches it through a merge now).
    const text = writeTomlValues(readTomlValues("z = 1.5\n[a.b]\nc.d = 1.0\ne = 2\n"));
    expect(text).toBe("z = 1.5\n\n[a.b]\ne = 2\n\n[a.b.c]\nd = 1.0\n");
  });
});

describe("top-level keys added to a file that starts with a [table]", () => {
  it("are parted from the table by a blank line, as in the release, also several and with a new table", () => {
    const base = "# my app\n\n[a]\nx = 1\n";
    expect(mergeToml(base, "y = 2\n\n[a]\nx = 1\n", { base }).text).toBe("# my app\n\ny = 2\n\n[a]\nx = 1\n");
    const result = mergeToml("[a]\r\nx = 1\r\n", "y = 2\n# w\nw = 3\n\n[n]\nk = 1\n\n[a]\nx = 1\n", {
      base: "[a]\nx = 1\n",
    });
    expect(result.text).toBe("y = 2\r\n# w\r\nw = 3\r\n\r\n[n]\r\nk = 1\r\n\r\n[a]\r\nx = 1\r\n");
    expect(result.warnings).toEqual([]);
  });
});

describe("a table written as dotted keys that the release keeps but empties", () => {
  // Removing its last line left no such table, so the file was rewritten from values: every
  // comment and blank line of the file lost (with a WARNING).
  it("becomes `d = {}` in place of its lines; the rest of the file stays as written", () => {
    const base = "# my app\nx = 1 # one\n\n# about d\nd.c = 1\nd.e = 2\ny = 0x10\n";
    const result = mergeToml(base, "x = 1\ny = 16\n\n[d]\n", { base });
    expect(result.text).toBe("# my app\nx = 1 # one\n\n# about d\nd = {}\ny = 0x10\n");
    expect(result.removed).toEqual(["d.c", "d.e"]);
    expect(result.warnings).toEqual([]);
  });

  it("inside a [table], and two levels deep", () => {
    const base = "[app]\nname = 'a' # mine\nlimits.cpu.max = 2\n";
    const result = mergeToml(base, "[app]\nname = 'a'\n\n[app.limits.cpu]\n", { base });
    expect(result.text).toBe("[app]\nname = 'a' # mine\nlimits.cpu = {}\n");
    expect(result.warnings).toEqual([]);
  });
});

describe("TOML datetimes", () => {
  // `+00:00` is UTC as `Z` is. A copy a tool respelt that way read as the operator's change, so a
  // release moving the date was kept out, reported as `kept`.
  it("a datetime respelt with +00:00 is the same value: the release's new one arrives", () => {
    const base = "start = 2024-01-01T00:00:00Z\nlevel = 1\n";
    const result = mergeToml(
      "start = 2024-01-01T00:00:00+00:00\nlevel = 1\n",
      "start = 2025-06-01T00:00:00Z\nlevel = 1\n",
      { base },
    );
    expect(result.text).toBe("start = 2025-06-01T00:00:00Z\nlevel = 1\n");
    expect(result.updated).toEqual(["start"]);
    expect(result.kept).toEqual([]);
  });

  it("digits past the millisecond are compared, and kept where the merge writes the value itself", () => {
    // smol-toml's dates hold milliseconds: `.123` → `.1234` was no change, and an inline table the
    // merge wrote anew (or a file rewritten from values) turned the user's `.654321` into `.654`.
    const base = "ts = 2024-01-01T00:00:00.123Z\nlevel = 1\n";
    const changed = mergeToml(base, "ts = 2024-01-01T00:00:00.1234Z\nlevel = 1\n", { base });
    expect(changed.updated).toEqual(["ts"]);
    expect(changed.text).toBe("ts = 2024-01-01T00:00:00.1234Z\nlevel = 1\n");

    const inline = mergeToml(
      "t = { ts = 2024-01-01T00:00:00.654321Z, at = 07:32:00.999999, n = 1 }\n",
      "t = { ts = 2024-01-01T00:00:00.123456Z, at = 07:32:00.999999, n = 1, m = 3 }\n",
      { base: "t = { ts = 2024-01-01T00:00:00.123456Z, at = 07:32:00.999999, n = 1 }\n" },
    );
    expect(inline.text).toBe(
      "t = { ts = 2024-01-01T00:00:00.654321Z, at = 07:32:00.999999, n = 1, m = 3 }\n",
    );
    expect(inline.kept).toEqual(["t.ts"]);

    // A file rewritten from values (the writer of the last resort).
    const rewritten = writeTomlValues(
      readTomlValues("ts = 2024-01-01T00:00:00.123456-07:00\n[a.b]\nc.d = 1\n"),
    );
    expect(rewritten).toContain("ts = 2024-01-01T00:00:00.123456-07:00\n");
  });

  it("a finer time in a string gives its digits to no datetime", () => {
    const user = 'note = "since 2024-01-01T00:00:00.1234Z"\nt = { ts = 2024-01-01T00:00:00.123Z, n = 1 }\n';
    const base = "t = { ts = 2024-01-01T00:00:00.999Z, n = 1 }\n";
    const result = mergeToml(user, "t = { ts = 2024-01-01T00:00:00.999Z, n = 1, m = 3 }\n", { base });
    expect(result.text).toBe(user.replace("n = 1", "n = 1, m = 3"));
    expect(result.kept).toEqual(["t.ts"]);
  });

  it("another offset is another value, and a local datetime is not an offset one", () => {
    const base = "a = 2024-01-01T02:00:00+02:00\nb = 2024-01-01T00:00:00\n";
    const result = mergeToml(
      "a = 2024-01-01T00:00:00Z\nb = 2024-01-01T00:00:00Z\n",
      "a = 2025-01-01T02:00:00+02:00\nb = 2025-01-01T00:00:00\n",
      { base },
    );
    expect(result.kept).toEqual(["a", "b"]);
  });
});

describe("TOML: edits at one offset keep their order", () => {
  it("a top-level key and a table opened above the first [a.b] both go in, comments kept", () => {
    const user = "# ours\n[a.b]\nx = 1 # kept\n";
    const result = mergeToml(user, "c = 1\n[a]\nc = 0\n[a.b]\nx = 1\n");
    expect(result.warnings).toEqual([]);
    expect(result.text).toBe("c = 1\n\n[a]\nc = 0\n\n# ours\n[a.b]\nx = 1 # kept\n");
    expect(result.added.sort()).toEqual(["a.c", "c"]);
  });
});

describe("TOML: a table added where a table turned into a key is removed", () => {
  it("both edits go in as text: no rewrite, the operator's comment stays", () => {
    const user = "[d.b] # ours\nx = 1\n\n[e]\ny = 2\n";
    const result = mergeSmartSection(user, 'e = "z"\n[d.b]\nx = 1\n[d.a]\n', "e");
    expect(result.warnings).toEqual([smartTook("e", "e")]);
    expect(result.text).toBe('e = "z"\n\n[d.b] # ours\nx = 1\n\n[d.a]\n');
    expect(result.updated).toEqual(["e"]);
  });
});

describe("TOML: a table written only through the sub-table the release removes", () => {
  it("keeps its [e] header instead of rewriting the file; the sub-table's comment is named", () => {
    const user = "# top\n\n[e.d] # sub\nb = 0\n\n[f]\nx = 0x1 # kept\n";
    const result = mergeToml(user, "[f]\nx = 1\n", { base: "[e]\ny = 1\n[e.d]\nb = 0\n[f]\nx = 1\n" });
    expect(result.text).toBe("# top\n\n[e]\n\n[f]\nx = 0x1 # kept\n");
    expect(result.removed).toEqual(["e.d"]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain("# sub");
  });
});

describe("TOML: a table whose keys all went while the user's sub-table stays", () => {
  const base = "port = 80\n\n# old things\n[old]\na = 1\nb = 2\n\n[keep]\nz = 1\n";
  const release = "port = 80\n\n[keep]\nz = 1\n";
  it("loses its header, which stood over nothing; the comment above it stays over [old.sub]", () => {
    // Was: an empty `[old]` header left above `[old.sub]`.
    const user = "port = 80\n\n# old things\n[old]\na = 1\nb = 2\n\n[old.sub]\nmine = 5\n\n[keep]\nz = 1\n";
    const result = mergeToml(user, release, { base });
    expect(result.text).toBe("port = 80\n\n# old things\n[old.sub]\nmine = 5\n\n[keep]\nz = 1\n");
    expect(result.removed).toEqual(["old.a", "old.b"]);
    expect(result.warnings).toEqual([expect.stringContaining("in which you had added the key old.sub")]);
  });

  it("keeps it where a comment of the user's sits on it or under it, or the user left it empty", () => {
    for (const [user, expected] of [
      ["[old] # mine\na = 1\n[old.sub]\nx = 1\n", "[old] # mine\n[old.sub]\nx = 1\n"],
      ["[old]\na = 1\n# mine\n\n[old.sub]\nx = 1\n", "[old]\n# mine\n\n[old.sub]\nx = 1\n"],
      ["[old]\n[old.sub]\nx = 1\n", "[old]\n[old.sub]\nx = 1\n"],
    ]) {
      const result = mergeToml(`y = 1\n\n${user}`, "y = 1\n", { base: "y = 1\n\n[old]\na = 1\n" });
      expect(result.text).toBe(`y = 1\n\n${expected}`);
    }
  });
});

describe("TOML: a key added to a table above a table opened at the same place", () => {
  it("goes into its own table, not the opened one; no rewrite, and the file does not end blank", () => {
    const result = mergeSmartSection("[c] # ours\n[c.d.a]\n", '[c]\na = "z"\n[c.d]\na = "z"\n', "c");
    expect(result.warnings).toEqual([smartTook("c", "c.d.a")]);
    expect(result.text).toBe('[c] # ours\na = "z"\n[c.d]\na = "z"\n');
  });
});

describe("TOML: a key added to [a] where the release puts a new [b] table", () => {
  it("goes into [a], above [b]; no rewrite, [c]'s comment stays", () => {
    const result = mergeSmartSection("b = 2\n[a]\n[c] # ours\n", '[a]\nd = "x"\n[b]\n[c]\n', "b");
    expect(result.warnings).toEqual([smartTook("b", "b")]);
    expect(result.text).toBe('[a]\nd = "x"\n[b]\n\n[c] # ours\n');
    expect(result.updated).toEqual(["b"]);
  });
});

describe("TOML: the release's comments on a key whose value it changes", () => {
  // A release bumping `port` with a new note above it and after it left the old note, now wrong,
  // in the user's file: only the value came.
  const base = '[server]\n# listen port\nport = 80  # default\nname = "x"\n# in GB\nsize = 1\n';
  const incoming =
    '[server]\n# listen port (8080: no root needed)\nport = 8080  # was 80\nname = "x"\nsize = 2\n';

  it("come where the user left the shipped ones; the user's own stay; a release without one takes none away", () => {
    const shipped = mergeToml(base.replace('"x"', '"mine"'), incoming, { base });
    expect(shipped.text).toBe(
      '[server]\n# listen port (8080: no root needed)\nport = 8080  # was 80\nname = "mine"\n# in GB\nsize = 2\n',
    );
    expect(shipped.warnings).toEqual([]);
    expect(mergeToml(shipped.text, incoming, { base: incoming }).text).toBe(shipped.text);
    const own = mergeToml(
      base.replace("# listen port\n", "# ops: behind the LB\n").replace("# default", "# ops"),
      incoming,
      { base },
    );
    expect(own.text).toBe(
      '[server]\n# ops: behind the LB\nport = 8080  # ops\nname = "x"\n# in GB\nsize = 2\n',
    );
    // Without the previous release's copy nothing says the user left them as shipped.
    expect(mergeToml(base, incoming).text).toBe(base);
  });

  it("the release's note after the value comes with the user's spacing before it", () => {
    // The user spaced the shipped note out; the release's new one came with the release's two spaces
    // (YAML kept the user's).
    const aligned = base.replace("port = 80  # default", "port = 80       # default");
    expect(mergeToml(aligned, incoming, { base }).text).toBe(
      '[server]\n# listen port (8080: no root needed)\nport = 8080       # was 80\nname = "x"\n# in GB\nsize = 2\n',
    );
    const yaml = mergeConfigFile({
      format: "yaml",
      fileName: "config.yaml",
      current: "port: 80       # default\n",
      incoming: "port: 8080  # was 80\n",
      base: "port: 80  # default\n",
      strategy: "preserve_user",
    });
    expect(yaml.text).toBe("port: 8080       # was 80\n");
  });
});

describe("TOML: a table the release turns into a value", () => {
  it("keeps the user's comment above the table above the new key, as YAML does", () => {
    // It went with the [db] header, named in a WARNING, while YAML kept it above `db:`.
    const base = "x = 1\ny = 2\n[db]\nhost = 'a'\n";
    const user = "x = 1\ny = 2\n# my db settings\n[db]\nhost = 'a'\n";
    const result = mergeToml(user, "x = 1\ny = 2\ndb = 'postgres://'\n", { base });
    expect(result.text).toBe("x = 1\ny = 2\n# my db settings\ndb = 'postgres://'\n");
    expect(result.warnings).toEqual([]);
    // The release's own comment there wins, and the user's is then named as gone.
    const noted = mergeToml(user, "x = 1\ny = 2\n# a URL now\ndb = 'postgres://'\n", { base });
    expect(noted.text).toBe("x = 1\ny = 2\n# a URL now\ndb = 'postgres://'\n");
    expect(noted.warnings).toHaveLength(1);
    // One the previous release shipped there and this one dropped goes: the release's change.
    const shipped = "x = 1\ny = 2\n# db\n[db]\nhost = 'a'\n";
    expect(mergeToml(shipped, "x = 1\ny = 2\ndb = 'postgres://'\n", { base: shipped }).text).toBe(
      "x = 1\ny = 2\ndb = 'postgres://'\n",
    );
  });
});

describe("TOML: a value the release turns into a table", () => {
  it("keeps the user's comments on the value above the new table", () => {
    // `a = 1   # note` → `[a]`: the note and the line above went with the value, named in a WARNING.
    const base = "a = 1\nb = 2\n";
    const user = "# head\na = 1   # note\n# about b\nb = 2\n";
    const result = mergeToml(user, "b = 2\n\n[a]\nx = 1\n", { base });
    expect(result.text).toBe("# about b\nb = 2\n\n# head\n# note\n[a]\nx = 1\n");
    expect(result.updated).toEqual(["a"]);
    // The note that followed the value stands on a line of its own now: named, with its line.
    expect(result.warnings).toEqual([
      "your comments that followed a value now stand on a line of their own (the release changed that value's form, e.g. into a table): # note (line 2)",
    ]);
    // Beside the release's own comment on the table; and above its dotted keys (`a.x = 1`).
    const noted = mergeToml(user, "b = 2\n\n# the a table\n[a]\nx = 1\n", { base });
    expect(noted.text).toBe("# about b\nb = 2\n\n# head\n# note\n# the a table\n[a]\nx = 1\n");
    const dotted = mergeToml(user, "b = 2\na.x = 1\n", { base });
    expect(dotted.text).toBe("# about b\nb = 2\n# head\n# note\na.x = 1\n");
    expect(dotted.warnings).toHaveLength(1);
    // The previous release's own comments there are its own: they go with its value.
    const shipped = "# a number\na = 1   # one\nb = 2\n";
    expect(mergeToml(shipped, "b = 2\n\n[a]\nx = 1\n", { base: shipped }).text).toBe("b = 2\n\n[a]\nx = 1\n");
  });
});

describe("TOML: the first [[array]] element dropped by the release", () => {
  // Its comment stayed above the array, so it stacked above the next element's own comment: the
  // operator's `# ops: admin only from VPN` ended up naming the web upstream.
  const base =
    'x = 1\n\n# the admin upstream\n[[upstream]]\nname = "admin"\nport = 4000\n\n# the web one\n[[upstream]]\nname = "web"\nport = 80\n';
  const incoming =
    'x = 1\n\n# the web one\n[[upstream]]\nname = "web"\nport = 80\n\n# new\n[[upstream]]\nname = "new"\nport = 81\n';

  it("takes the comment above it along (named when it was the user's); a paragraph set apart stays", () => {
    const shipped = mergeToml(base, incoming, { base });
    expect(shipped.text).toBe(incoming);
    expect(shipped.warnings).toEqual([]);
    const own = mergeToml(base.replace("# the admin upstream", "# ops: admin only from VPN"), incoming, {
      base,
    });
    expect(own.text).toBe(incoming);
    expect(own.warnings).toEqual([
      'upstream: the release dropped your element name = "admin", and your comments on it went with it (# ops: admin only from VPN (line 3))',
    ]);
    const banner = base.replace("# the admin upstream\n", "# upstreams\n\n");
    expect(mergeToml(banner, incoming, { base: banner }).text).toBe(
      'x = 1\n\n# upstreams\n\n# the web one\n[[upstream]]\nname = "web"\nport = 80\n\n# new\n[[upstream]]\nname = "new"\nport = 81\n',
    );
  });

  it("the release's own first element brings its comment", () => {
    const released =
      'x = 1\n\n# the db one\n[[upstream]]\nname = "db"\nport = 5432\n\n# the web one\n[[upstream]]\nname = "web"\nport = 80\n';
    expect(mergeToml(base, released, { base }).text).toBe(released);
  });
});

describe("TOML: a key or table the release inserts under another one's comment", () => {
  // The release's text puts the new key right under the comment that was the next key's (a header
  // glued to the first table, `# the port` over `port`): the new key came with it while the user's
  // copy kept it above its key, and the file held the comment twice.
  it("comes without that comment, which stays above its key, as a header glued to the first table stays", () => {
    const base = "# myapp config\n[server]\nport = 80\n";
    const current = "# myapp config\n[server]\nport = 8080\n";
    const key = mergeToml(current, "# myapp config\ndebug = false\n\n[server]\nport = 80\n", { base });
    expect(key.text).toBe("debug = false\n\n# myapp config\n[server]\nport = 8080\n");
    const table = mergeToml(current, "# myapp config\n[log]\nlevel = 1\n\n[server]\nport = 80\n", { base });
    expect(table.text).toBe("[log]\nlevel = 1\n\n# myapp config\n[server]\nport = 8080\n");
    const inTable = mergeToml("[s]\n# the port\nport = 8080\n", '[s]\n# the port\nhost = "a"\nport = 80\n', {
      base: "[s]\n# the port\nport = 80\n",
    });
    expect(inTable.text).toBe('[s]\n# the port\nport = 8080\nhost = "a"\n');
    // Without an earlier copy the user's tells the same.
    const noBase = mergeToml("# the port\nport = 8080\n", '# the port\nhost = "a"\nport = 80\n');
    expect(noBase.text).toBe('# the port\nport = 8080\nhost = "a"\n');
    expect([...key.warnings, ...table.warnings, ...inTable.warnings, ...noBase.warnings]).toEqual([]);
  });

  it("a comment the release moved with a renamed table, or wrote for the new key, still comes", () => {
    const renamed = mergeToml(
      '# Database settings\n[db]\nhost = "a"\n',
      '# Database settings\n[database]\nhost = "a"\n',
      { base: '# Database settings\n[db]\nhost = "a"\n' },
    );
    expect(renamed.text).toBe('# Database settings\n[database]\nhost = "a"\n');
    const own = mergeToml("# the port\nport = 8080\n", '# the port\nport = 80\n# the host\nhost = "a"\n', {
      base: "# the port\nport = 80\n",
    });
    expect(own.text).toBe('# the port\nport = 8080\n# the host\nhost = "a"\n');
  });
});

describe("TOML: a key or table the release removes from under a comment it keeps above the next one", () => {
  // The comment went with the removed key: a header glued to a first key or table the release
  // dropped was lost, though the release's copy still begins with it.
  it("the comment stays, above the key or table that followed", () => {
    const key = mergeToml("# myapp config\ndebug = false\nport = 8080\n", "# myapp config\nport = 80\n", {
      base: "# myapp config\ndebug = false\nport = 80\n",
    });
    expect(key.text).toBe("# myapp config\nport = 8080\n");
    const base = "# myapp config\n[log]\nlevel = 1\n\n[server]\nport = 80\n";
    const table = mergeToml(base.replace("80", "8080"), "# myapp config\n[server]\nport = 80\n", { base });
    expect(table.text).toBe("# myapp config\n[server]\nport = 8080\n");
    expect([...key.warnings, ...table.warnings]).toEqual([]);
  });

  it("a comment the release drops with the key still goes", () => {
    const result = mergeToml("# debug mode\ndebug = false\nport = 8080\n", "port = 80\n", {
      base: "# debug mode\ndebug = false\nport = 80\n",
    });
    expect(result.text).toBe("port = 8080\n");
  });
});

// An inline table the merge writes anew that holds dotted members (`t = { a.b = 1, c = 2 }`, as
// TOML allows) had them written from values: one nested inline table moved after the other
// members, `{ c = 2, a = { b = 5 } }`, with no word. They stay dotted, in their order and spelling.
describe("an inline table with dotted members, written anew by the merge", () => {
  it.each([
    [
      "a dotted member the release changes",
      "t = { a.b = 1, c = 2 }\n",
      "t = { a.b = 5, c = 2 }\n",
      "t = { a.b = 5, c = 2 }\n",
    ],
    [
      "a plain member the user changed, a new one",
      "t = { a.b = 1, c = 3 }\n",
      "t = { a.b = 1, c = 2, d = 1 }\n",
      "t = { a.b = 1, c = 3, d = 1 }\n",
    ],
    [
      "a quoted part, under a table",
      '[s]\nt = { a."b.c" = 1, z = 3 }\n',
      '[s]\nt = { a."b.c" = 4, z = 2 }\n',
      '[s]\nt = { a."b.c" = 4, z = 3 }\n',
    ],
    [
      "a dotted member naming an inline table",
      "t = { a.b = { x = 1, y = 'q' }, c = 2 }\n",
      "t = { a.b = { x = 2, y = 'q' }, c = 2 }\n",
      "t = { a.b = { x = 2, y = 'q' }, c = 2 }\n",
    ],
    [
      "over lines, a comment after it",
      "t = {\n  a.b = 1, # ab\n  c = 2,\n}\n",
      "t = { a.b = 5, c = 2, d = 1 }\n",
      "t = {\n  a.b = 5, # ab\n  c = 2,\n  d = 1,\n}\n",
    ],
  ])("%s", (_name, current, incoming, expected) => {
    const base = current.startsWith("[s]")
      ? '[s]\nt = { a."b.c" = 1, z = 2 }\n'
      : current.includes("x =")
        ? current
        : "t = { a.b = 1, c = 2 }\n";
    const result = mergeToml(current, incoming, { base });
    expect(result.text).toBe(expected);
    expect(result.warnings).toEqual([]);
  });
});
