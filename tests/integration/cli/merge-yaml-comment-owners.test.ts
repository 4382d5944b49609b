/**
 * A hand-edited YAML config whose comments the yaml library files with the wrong node: the one after
 * a flow list's last item (`b,   # second` above the `]`), and the one on a key's line above a block
 * list (`hosts: # which hosts`). An update changing both lists wrote the first twice and dropped the
 * second, with WARNINGs. Each now stays with its owner, and the run warns of nothing. Real CLI.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateMergedFile } from "./local-app.js";

describe("YAML comments stay with the item or key they are written on (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("a flow list's last item and a key's line above a block list", async () => {
    const story = {
      action: "merge_yaml",
      file: "config.yaml",
      v1: "ports: [80, 443]\nhosts:\n  - a\n  - b\n",
      v2: "ports: [80, 443, 8443]\nhosts:\n  - c\n",
    };
    const mine = "ports: [\n  80,    # http\n  443,   # https\n]\nhosts:    # which hosts\n  - a\n  - b\n";
    const { run, read } = await updateMergedFile(app, story, mine);
    expect(await read("config.yaml")).toBe(
      "ports: [\n  80,    # http\n  443,   # https\n  8443\n]\nhosts:    # which hosts\n  - c\n",
    );
    expect(run.stderr).not.toContain("WARNING");
    expect(run.stdout).toContain(
      "merged config.yaml: 0 kept, 0 added, 2 updated (ports, hosts), 0 removed\n",
    );
  });
});
