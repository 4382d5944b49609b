/**
 * A YAML list item the release moved and changed keeps the operator's spacing on its changed lines
 * (the README: "also in a list item the release moves"), through the real CLI: an item whose first
 * line is the one that changed (`- port: 1      # ops: a`) came back in the library's spacing,
 * unsaid, and two one-line items with the same comment took each other's spacing. Each case also
 * checks that a second run changes nothing and that --rollback puts the operator's bytes back.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CliResult, runShip } from "../../support/ship-cli.js";
import { type MergedFiles, updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    name: "a block item moved and changed below its first line",
    v1: "servers:\n  - name: a\n    port: 1\n  - name: b\n    port: 2\n",
    mine: "servers:\n  - name: a\n    port: 1      # ops: a\n  - name: b\n    port: 2\n",
    v2: "servers:\n  - name: b\n    port: 2\n  - name: a\n    port: 5\n",
    merged: "servers:\n  - name: b\n    port: 2\n  - name: a\n    port: 5      # ops: a\n",
  },
  {
    name: "a block item whose first line is the one changed",
    v1: "servers:\n  - port: 1\n    name: a\n  - port: 2\n    name: b\n",
    mine: "servers:\n  - port: 1      # ops: a\n    name: a\n  - port: 2\n    name: b\n",
    v2: "servers:\n  - port: 2\n    name: b\n  - port: 5\n    name: a\n",
    merged: "servers:\n  - port: 2\n    name: b\n  - port: 5      # ops: a\n    name: a\n",
  },
  {
    name: "the same in CRLF, with a tab before the comment",
    v1: "servers:\r\n  - port: 1\r\n    name: a\r\n  - port: 2\r\n    name: b\r\n",
    mine: "servers:\r\n  - port: 1\t# ops: a\r\n    name: a\r\n  - port: 2\r\n    name: b\r\n",
    v2: "servers:\r\n  - port: 2\r\n    name: b\r\n  - port: 5\r\n    name: a\r\n",
    merged: "servers:\r\n  - port: 2\r\n    name: b\r\n  - port: 5\t# ops: a\r\n    name: a\r\n",
  },
  {
    name: "one-line items with the same comment, each moved and changed",
    v1: "servers:\n  - {name: a, port: 1}\n  - {name: b, port: 2}\n  - {name: c, port: 3}\n",
    mine: "servers:\n  - {name: a, port: 1}     # ops\n  - {name: b, port: 2}  # ops\n  - {name: c, port: 3}\n",
    v2: "servers:\n  - {name: c, port: 3}\n  - {name: b, port: 6}\n  - {name: a, port: 5}\n",
    merged:
      "servers:\n  - {name: c, port: 3}\n  - {name: b, port: 6}  # ops\n  - {name: a, port: 5}     # ops\n",
  },
];

/** The shared app's story: each case's file (by index) after the update, a second run and the rollback. */
interface Story {
  update: MergedFiles;
  merged: string[];
  again: CliResult;
  afterAgain: string[];
  rollback: CliResult;
  restored: string[];
}

describe("a YAML list item the release moved and changed, through the CLI", () => {
  // Every case in one app (updateMergedFilesOnce), then one second run and one --rollback for all:
  // each case's file as each of the three left it.
  const merged = updateMergedFilesOnce(
    cases.map((c) => ({ ...c, action: "merge_yaml", file: "config.yaml", edited: c.mine })),
  );
  let story: Promise<Story> | undefined;
  const told = () => {
    story ??= (async () => {
      const update = await merged();
      const { app } = update;
      const each = () => Promise.all(cases.map((_, i) => update.read(i)));
      const first = await each();
      const again = await runShip(["--config", app.config]);
      const afterAgain = await each();
      const [backup] = await readdir(join(app.root, "var/backups/myapp"));
      const rollback = await runShip(["--config", app.config, "--rollback", backup as string]);
      return { update, merged: first, again, afterAgain, rollback, restored: await each() };
    })();
    return story;
  };

  for (const [i, { name, mine, merged: expected }] of cases.entries()) {
    it(`${name} keeps the operator's spacing; a second run changes nothing; --rollback restores`, async () => {
      const { update, merged: text, again, afterAgain, rollback, restored } = await told();
      const { run, path } = update;
      expect(text[i]).toBe(expected);
      expect(run.stderr).not.toContain("WARNING");
      expect(run.stdout).toContain(
        `myapp: merged ${path(i)}: 0 kept, 0 added, 1 updated (servers), 0 removed`,
      );

      expect(again.code, again.stderr).toBe(0);
      expect(afterAgain[i]).toBe(expected);

      expect(rollback.code, rollback.stderr).toBe(0);
      expect(restored[i]).toBe(mine);
    });
  }
});
