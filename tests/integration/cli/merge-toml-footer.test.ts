/**
 * A TOML footer comment right under the last key (no blank line between): a table the release adds
 * went after it, so the footer stood in the middle of the file, and a table the release removes took
 * it along. The README: a footer stays last. Now it does, with a blank line or without.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const v1 = 'port = 80\n\n[log]\nlevel = "info"\n';
const cases = [
  {
    name: "a table the release adds goes above it",
    mine: 'port = 8080\n\n[log]\nlevel = "info"\n# managed by ops: see wiki/app\n',
    v2: 'port = 80\n\n[log]\nlevel = "info"\n\n[cache]\nsize = 100\n',
    merged: 'port = 8080\n\n[log]\nlevel = "info"\n\n[cache]\nsize = 100\n\n# managed by ops: see wiki/app\n',
  },
  {
    name: "a table the release removes leaves it",
    mine: 'port = 8080\n\n[log]\nlevel = "info"\n# managed by ops: see wiki/app\n',
    v2: "port = 80\n",
    merged: "port = 8080\n\n# managed by ops: see wiki/app\n",
  },
  // A setting commented out with its value unquoted, as INI-style docs write one (`# format = json`):
  // not TOML as it stands, it was read as prose, so the footer began there and the table the release
  // added landed between the table's key and its commented-out setting.
  {
    name: "a setting commented out with an unquoted word stays with its table; a table the release adds goes below it",
    mine: 'port = 8080\n\n[log]\nlevel = "info"\n# format = json\n',
    v2: 'port = 80\n\n[log]\nlevel = "info"\n\n[cache]\nsize = 100\n',
    merged: 'port = 8080\n\n[log]\nlevel = "info"\n# format = json\n\n[cache]\nsize = 100\n',
  },
  {
    name: "a setting commented out with an unquoted path goes with its table; the prose footer under it",
    mine: 'port = 8080\n\n[log]\nlevel = "info"\n# file = /var/log/app.log  # default\n# managed by ops\n',
    v2: 'port = 80\n\n[log]\nlevel = "info"\n\n[cache]\nsize = 100\n',
    merged:
      'port = 8080\n\n[log]\nlevel = "info"\n# file = /var/log/app.log  # default\n\n[cache]\nsize = 100\n\n# managed by ops\n',
  },
  // A copy ending in a blank line (the operator deleted the table under it): a table the release
  // adds at the end came after a second blank line.
  {
    name: "a copy ending in a blank line takes a table the release adds after that one blank line",
    mine: "port = 8080\n\n",
    v2: 'port = 80\n\n[log]\nlevel = "info"\n\n[cache]\nsize = 100\n',
    merged: "port = 8080\n\n[cache]\nsize = 100\n",
  },
];

describe("a TOML footer right under the last key", () => {
  // Every case in one app, once (updateMergedFilesOnce): case i is story i.
  const merged = updateMergedFilesOnce(
    cases.map((c) => ({ action: "merge_toml", file: "config.toml", v1, edited: c.mine, v2: c.v2 })),
  );

  for (const [i, { name, merged: expected }] of cases.entries()) {
    it(`${name}, and stays last`, async () => {
      const { run, read } = await merged();
      expect(await read(i)).toBe(expected);
      expect(run.stderr).not.toContain("WARNING");
    });
  }
});
