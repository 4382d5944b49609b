/** A config saved by a Windows editor (UTF-8 BOM, CRLF) keeps both, and its comments, in every format. */
import { describe, expect, it } from "vitest";
import { type MergeFormat, mergeConfigFile } from "../../../agent/merge/index.js";

const BOM = "\uFEFF";
const crlf = (text: string) => text.replaceAll("\n", "\r\n");

const cases: { format: MergeFormat; current: string; incoming: string; base: string; expected: string }[] = [
  {
    format: "toml",
    current: '# server settings\n[server]\n# the port we listen on\nport = 9000 # ours\nhost = "a"\n',
    incoming: '# server settings\n[server]\n# the port we listen on\nport = 8000\nhost = "b"\nworkers = 4\n',
    base: '# server settings\n[server]\n# the port we listen on\nport = 8000\nhost = "a"\n',
    expected:
      '# server settings\n[server]\n# the port we listen on\nport = 9000 # ours\nhost = "b"\nworkers = 4\n',
  },
  {
    format: "yaml",
    current: "# server settings\nserver:\n  # the port we listen on\n  port: 9000 # ours\n  host: a\n",
    incoming: "server:\n  port: 8000\n  host: b\n  workers: 4\n",
    base: "server:\n  port: 8000\n  host: a\n",
    expected:
      "# server settings\nserver:\n  # the port we listen on\n  port: 9000 # ours\n  host: b\n  workers: 4\n",
  },
  {
    format: "json",
    current: '{\n  "server": {\n    "port": 9000,\n    "host": "a"\n  }\n}\n',
    incoming: '{\n  "server": {\n    "port": 8000,\n    "host": "b",\n    "workers": 4\n  }\n}\n',
    base: '{\n  "server": {\n    "port": 8000,\n    "host": "a"\n  }\n}\n',
    expected: '{\n  "server": {\n    "port": 9000,\n    "host": "b",\n    "workers": 4\n  }\n}\n',
  },
];

describe.each(cases)(
  "a BOM + CRLF server copy ($format)",
  ({ format, current, incoming, base, expected }) => {
    const merge = (text: string, release = incoming) =>
      mergeConfigFile({
        format,
        fileName: `app.${format}`,
        current: text,
        incoming: release,
        base,
        strategy: "preserve_user",
      });

    it("merges with its BOM, CRLF line endings and comments kept, and no warning", () => {
      const result = merge(BOM + crlf(current));
      expect(result.text).toBe(BOM + crlf(expected));
      expect(result.warnings).toEqual([]);
      expect(result.updated).toEqual(["server.host"]);
      expect(result.added).toEqual(["server.workers"]);
    });

    it("compares equal to an LF release copy with a BOM of its own, and is then left byte for byte", () => {
      const windows = BOM + crlf(current);
      const sameValues = BOM + crlf(current.replace(/ # ours/, ""));
      expect(merge(windows, sameValues).text).toBe(windows);
    });

    it("keeps LF when the server copy is LF, whatever the release uses", () => {
      expect(merge(current, BOM + crlf(incoming)).text).toBe(expected);
    });
  },
);

describe.each(cases)("a server copy with CR line endings alone (classic Mac OS, $format)", (c) => {
  // No parser reads a lone CR as a line break: such a YAML file that opened with a comment read as
  // one comment (an empty mapping), and the three-way merge took every key as deleted, writing the
  // user's settings back commented out; TOML refused it as "control characters … in comments".
  const cr = (text: string) => text.replaceAll("\n", "\r");
  const merge = (current: string, incoming = c.incoming) =>
    mergeConfigFile({
      format: c.format,
      fileName: `app.${c.format}`,
      current,
      incoming,
      base: c.base,
      strategy: "preserve_user",
    });

  it("merges as its lines say, keeping CR line endings and its comments", () => {
    const result = merge(cr(c.current));
    expect(result.text).toBe(cr(c.expected));
    expect(result.warnings).toEqual([]);
    expect(result.updated).toEqual(["server.host"]);
    expect(result.added).toEqual(["server.workers"]);
  });

  it("a release copy saved so reads alike", () => {
    expect(merge(c.current, cr(c.incoming)).text).toBe(c.expected);
  });
});

describe.each(cases)("merge_strategy replace on a BOM + CRLF server copy ($format)", (c) => {
  // The release's values and comments win, not its form: the operator's Windows editor (or the app
  // itself) reads the file with its BOM and CRLF, and every other strategy kept them.
  const replace = (current: string, incoming = c.incoming, sections?: Record<string, "preserve_user">) =>
    mergeConfigFile({
      format: c.format,
      fileName: `app.${c.format}`,
      current,
      incoming,
      base: c.base,
      strategy: "replace",
      ...(sections === undefined ? {} : { sections }),
    });

  it("takes the release's text in the server copy's BOM and line endings", () => {
    expect(replace(BOM + crlf(c.current)).text).toBe(BOM + crlf(c.incoming));
    expect(replace(crlf(c.current), BOM + c.incoming).text).toBe(crlf(c.incoming));
  });

  it("a server copy that does not parse, replaced whole, keeps its line endings too", () => {
    const result = replace(`${BOM}a: [1\r\nb = }\r\n`);
    expect(result.text).toBe(BOM + crlf(c.incoming));
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^your copy does not parse \(line \d+, column \d+: .+\): took the release's copy whole, so nothing of yours in it is kept; your copy is in this update's backup \(ship --list-backups\)$/,
      ),
    ]);
  });

  it("a server copy that reads as the release's is left byte for byte", () => {
    const windows = BOM + crlf(c.incoming);
    expect(replace(windows).text).toBe(windows);
  });
});

describe("a TOML file mixing CRLF and LF (lines appended to a Windows-saved file)", () => {
  // Merged as it is: its multi-line strings held `\r\n` and read unequal to the release's same
  // text, so an untouched one was reported kept and the release's change to it lost.
  const base = "motd = \"\"\"\nhello\nworld\"\"\"\nraw = '''\na\nb'''\nport = 80\n";
  const mixed = `${base.replaceAll("\n", "\r\n")}extra = 1\n`;
  const merge = (incoming: string) =>
    mergeConfigFile({
      format: "toml",
      fileName: "app.toml",
      current: mixed,
      incoming,
      base,
      strategy: "preserve_user",
    });

  it("a multi-line string the operator never touched follows the release", () => {
    const result = merge(base.replace("world", "there").replace("port = 80", "port = 81"));
    expect(result.updated).toEqual(["motd", "port"]);
    expect(result.kept).toEqual([]);
    expect(result.text).toContain("there");
  });

  it("and reads as the release's when nothing else changed: left byte for byte", () => {
    const result = merge(base);
    expect(result.text).toBe(mixed);
    expect([...result.kept, ...result.updated, ...result.removed]).toEqual([]);
  });

  it("an escaped \\r\\n is a value, not a line break", () => {
    const escaped = 'nl = "a\\r\\nb"\r\nport = 80\n';
    const result = mergeConfigFile({
      format: "toml",
      fileName: "app.toml",
      current: escaped,
      incoming: 'nl = "a\\nb"\nport = 80\n',
      base: 'nl = "a\\r\\nb"\nport = 80\n',
      strategy: "preserve_user",
    });
    expect(result.updated).toEqual(["nl"]);
  });
});

// A file that mixes CRLF and LF (a Windows editor's section pasted into an LF file) is merged as it
// is; a line the merge added took CRLF wherever it landed (TOML, JSON: CRLF as soon as one line had
// it) or LF always (YAML). Each added line now takes the ending of the lines around it.
describe.each([
  {
    format: "toml" as const,
    current: "# top\n[a]\r\nx = 1\r\ny = 2\r\n[b]\nq = 1\n",
    incoming: "[a]\nx = 1\ny = 2\nz = 3\n[b]\nq = 1\nr = 2\n",
    base: "[a]\nx = 1\ny = 2\n[b]\nq = 1\n",
    expected: "# top\n[a]\r\nx = 1\r\ny = 2\r\nz = 3\r\n[b]\nq = 1\nr = 2\n",
  },
  {
    format: "yaml" as const,
    current: "# top\na:\r\n  x: 1\r\n  y: 2\r\nb:\n  q: 1\n",
    incoming: "a:\n  x: 1\n  y: 2\n  z: 3\nb:\n  q: 1\n  r: 2\n",
    base: "a:\n  x: 1\n  y: 2\nb:\n  q: 1\n",
    expected: "# top\na:\r\n  x: 1\r\n  y: 2\r\n  z: 3\r\nb:\n  q: 1\n  r: 2\n",
  },
  {
    format: "json" as const,
    current: '{\r\n  "a": 1,\n  "b": 2\n}\n',
    incoming: '{\n  "a": 1,\n  "b": 2,\n  "c": 3\n}\n',
    base: '{\n  "a": 1,\n  "b": 2\n}\n',
    expected: '{\r\n  "a": 1,\n  "b": 2,\n  "c": 3\n}\n',
  },
  // Without a final newline: TOML's editor added one to the last line and took back only its LF,
  // so a line added there ended in a bare CR, which no TOML reader takes (the app's, and the next
  // update's merge: "the server's copy does not parse").
  {
    format: "toml" as const,
    current: "x = 1\r\ny = 2\nz = 3",
    incoming: "x = 1\ny = 2\nz = 3\nq = 4\n",
    base: "x = 1\ny = 2\nz = 3\n",
    expected: "x = 1\r\ny = 2\nz = 3\nq = 4",
  },
  {
    format: "toml" as const,
    current: "[a]\r\nx = 1\n[b]\r\nz = 3",
    incoming: "[a]\nx = 1\nq = 4\n[b]\nz = 3\nw = 5\n",
    base: "[a]\nx = 1\n[b]\nz = 3\n",
    expected: "[a]\r\nx = 1\nq = 4\n[b]\r\nz = 3\r\nw = 5",
  },
  {
    format: "yaml" as const,
    current: "x: 1\ny: 2\r\nz: 3",
    incoming: "x: 1\ny: 2\nz: 3\nq: 4\n",
    base: "x: 1\ny: 2\nz: 3\n",
    expected: "x: 1\ny: 2\r\nz: 3\r\nq: 4",
  },
  {
    format: "json" as const,
    current: '{\n  "a": 1,\r\n  "b": 2\r\n}',
    incoming: '{\n  "a": 1,\n  "b": 2,\n  "c": 3\n}\n',
    base: '{\n  "a": 1,\n  "b": 2\n}\n',
    expected: '{\n  "a": 1,\r\n  "b": 2,\r\n  "c": 3\r\n}',
  },
])("a server copy mixing CRLF and LF ($format)", ({ format, current, incoming, base, expected }) => {
  it("gives each line the merge adds its neighbours' ending, and keeps every other line's", () => {
    const result = mergeConfigFile({
      format,
      fileName: `app.${format}`,
      current,
      incoming,
      base,
      strategy: "preserve_user",
    });
    expect(result.text).toBe(expected);
    // What it wrote reads again: the next update merges it.
    const next = mergeConfigFile({
      format,
      fileName: `app.${format}`,
      current: result.text,
      incoming,
      base: incoming,
      strategy: "preserve_user",
    });
    expect(next.text).toBe(result.text);
  });
});
