/**
 * A YAML list whose items are lists of plain values (a matrix of host groups), changed by the
 * release: the operator's comment on an item still there unchanged (`- - db1      # primary`) went,
 * named in a WARNING, where the same comment on a list under a key stays. Real CLI.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateMergedFile } from "./local-app.js";

describe("a list of lists the release changes (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("keeps the operator's comment, and its spacing, on the item that stays; no WARNING", async () => {
    const story = {
      action: "merge_yaml",
      file: "config.yaml",
      v1: "groups:\n  - - db1\n    - db2\n  - - web1\n",
      v2: "groups:\n  - - db1\n    - db3\n  - - web1\n",
    };
    const mine = "groups:\n  - - db1      # primary\n    - db2\n  - - web1\n";
    const { run, read } = await updateMergedFile(app, story, mine);
    expect(await read("config.yaml")).toBe("groups:\n  - - db1      # primary\n    - db3\n  - - web1\n");
    expect(run.stderr).not.toContain("WARNING");
    expect(run.stdout).toContain("merged config.yaml: 0 kept, 0 added, 1 updated (groups), 0 removed\n");
  });
});
