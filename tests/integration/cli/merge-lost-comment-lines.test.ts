/**
 * A WARNING that names comments of the operator's a merge took away named the file and the key,
 * never where the comment was: in a long file, or with the same note written on several keys
 * (`# ops: do not raise`), the operator could not tell which one went. Each named comment now says
 * its line in the operator's copy before the merge (the update's backup holds that copy), also in a
 * file saved with a byte-order mark and CRLF line endings, and in a multi-line string before it.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateOverEdits } from "./local-app.js";

const windows = (text: string) => `\uFEFF${text.replaceAll("\n", "\r\n")}`;

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
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  for (const { action, file, v1, mine, v2, removed, at } of cases) {
    for (const [form, written] of [
      ["LF", (text: string) => text],
      ["BOM and CRLF", windows],
    ] as const) {
      it(`${action}, ${form}: names each comment with its line in the operator's copy`, async () => {
        const manifest = (version: string) =>
          `version: "${version}"\nfiles:\n  "${file}": { action: ${action} }\n`;
        const { run, read } = await updateOverEdits(app, manifest, {
          v1: { [file]: v1 },
          edited: { [file]: written(mine) },
          v2: { [file]: v2 },
        });
        const merged = await read(file);
        expect(merged).toContain("ops: do not raise");
        expect(merged).not.toMatch(/max/);
        expect(run.stderr).toContain(
          `myapp: WARNING: merge of ${file}: your comments went with the keys the merge removed (${removed}): # ops: do not raise (line ${at})`,
        );
      });
    }
  }
});
