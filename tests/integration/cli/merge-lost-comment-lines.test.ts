/**
 * A WARNING that names comments of the operator's a merge took away named the file and the key,
 * never where the comment was: in a long file, or with the same note written on several keys
 * (`# ops: do not raise`), the operator could not tell which one went. Each named comment now says
 * its line in the operator's copy before the merge (the update's backup holds that copy), also in a
 * file saved with a byte-order mark and CRLF line endings, and in a multi-line string before it.
 */
import { describe, expect, it } from "vitest";
import { type MergedFileStory, updateMergedFilesOnce } from "./local-app.js";

const windows = (text: string) => `\uFEFF${text.replaceAll("\n", "\r\n")}`;
const forms = [
  ["LF", (text: string) => text],
  ["BOM and CRLF", windows],
] as const;

/** Each case in each form, all in one app (updateMergedFilesOnce): case n in form f is story 2n + f. */
const inEachForm = <Case extends MergedFileStory & { mine: string }>(cases: readonly Case[]) =>
  updateMergedFilesOnce(
    cases.flatMap((story) => forms.map(([, written]) => ({ ...story, edited: written(story.mine) }))),
  );

const cases = [
  {
    action: "merge_toml",
    file: "config.toml",
    v1: 'motd = """\nhello\n"""\n[pool]\nmin = 1\nmax = 5\nidle = 3\n',
    mine: 'motd = """\nhello\n# not a comment\n"""\n[pool]\nmin = 1 # ops: do not raise\nmax = 5 # ops: do not raise\nidle = 3\n',
    v2: 'motd = """\nhello\n"""\n[pool]\nmin = 1\nidle = 3\n',
    removed: "pool.max",
    at: 7,
  },
  {
    action: "merge_yaml",
    file: "config.yaml",
    v1: "motd: |\n  hello\npool:\n  min: 1\n  max: 5\n  idle: 3\n",
    mine: "motd: |\n  hello\n  # not a comment\npool:\n  min: 1 # ops: do not raise\n  max: 5 # ops: do not raise\n  idle: 3\n",
    v2: "motd: |\n  hello\npool:\n  min: 1\n  idle: 3\n",
    removed: "pool.max",
    at: 6,
  },
];

describe("a WARNING naming the operator's comments a merge took away", () => {
  const merged = inEachForm(cases);

  for (const [n, { action, removed, at }] of cases.entries()) {
    for (const [f, [form]] of forms.entries()) {
      it(`${action}, ${form}: names each comment with its line in the operator's copy`, async () => {
        const { run, path, read } = await merged();
        const file = path(2 * n + f);
        const text = await read(2 * n + f);
        expect(text).toContain("ops: do not raise");
        expect(text).not.toMatch(/max/);
        expect(run.stderr).toContain(
          `myapp: WARNING: merge of ${file}: your comments went with the keys the merge removed (${removed}): # ops: do not raise (line ${at})`,
        );
      });
    }
  }
});

/**
 * The WARNINGs the renderers write while they rebuild a value named the comments that went without
 * their line, where the safety net's named it: a dropped TOML `[[array]]` element, a TOML value or
 * inline table written anew, a YAML value the release replaced whole. Each now names the line in the
 * operator's copy too; of two like notes, each is named at its own line (the second one went unsaid).
 */
const rebuilt = [
  {
    what: "dropped [[array]] elements",
    action: "merge_toml",
    file: "config.toml",
    v1: '[[upstream]]\nname = "app"\nport = 3000\n\n[[upstream]]\nname = "admin"\nport = 4000\n\n[[upstream]]\nname = "metrics"\nport = 9090\n',
    mine: '[[upstream]]\nname = "app"\nport = 3000\n\n# ops: vpn only\n[[upstream]]\nname = "admin"\nport = 4000\n\n# ops: vpn only\n[[upstream]]\nname = "metrics"\nport = 9090\n',
    v2: '[[upstream]]\nname = "app"\nport = 3000\n\n[[upstream]]\nname = "web"\nport = 80\n',
    warnings: [
      'upstream: the release dropped your element name = "admin", and your comments on it went with it (# ops: vpn only (line 5))',
      'upstream: the release dropped your element name = "metrics", and your comments on it went with it (# ops: vpn only (line 10))',
    ],
  },
  {
    what: "a TOML array replaced whole",
    action: "merge_toml",
    file: "config.toml",
    v1: "# app\nx = 1\narr = [1, 2]\n",
    mine: "# app\nx = 1\narr = [\n  1, # ops: one\n  2,\n]\n",
    v2: "# app\nx = 1\narr = [3]\n",
    warnings: [
      "arr: the release's value replaced yours, and your comments inside it went with it (# ops: one (line 4))",
    ],
  },
  {
    what: "a TOML inline table written anew",
    action: "merge_toml",
    file: "config.toml",
    v1: "x = 1\nt = { a = [1] }\n",
    mine: "x = 1\nt = { a = [\n  1, # one\n] }\n",
    v2: "x = 1\nt = { a = [1], b = 2 }\n",
    warnings: [
      "t: the inline table was written anew to change t.b, and your comments inside it went with it (# one (line 3))",
    ],
  },
  {
    what: "a YAML value replaced whole",
    action: "merge_yaml",
    file: "config.yaml",
    v1: 'x: 1\nports:\n  - "80:80"\n  - "8080:8080"\n',
    mine: 'x: 1  # ops: debug port\nports:\n  - "80:80"   # http\n  # ops: debug port\n  - "8080:8080"\n',
    v2: 'x: 1\nports:\n  - "443:443"\n  - "80:80"\n',
    warnings: [
      "ports: the release's value replaced yours, and your comments inside it went with it (# ops: debug port (line 4))",
    ],
  },
];

describe("a WARNING a rebuilt value writes about the operator's comments that went with it", () => {
  const merged = inEachForm(rebuilt);

  for (const [n, { what, warnings }] of rebuilt.entries()) {
    for (const [f, [form]] of forms.entries()) {
      it(`${what}, ${form}: names each comment with its line in the operator's copy`, async () => {
        const { run, path } = await merged();
        const file = path(2 * n + f);
        const said = run.stderr.split("\n").filter((line) => line.includes(`WARNING: merge of ${file}:`));
        expect(said).toEqual(warnings.map((w) => expect.stringContaining(`merge of ${file}: ${w}`)));
      });
    }
  }
});
