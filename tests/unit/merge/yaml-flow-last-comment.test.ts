/**
 * The comment after the last item of a YAML flow list or mapping spread over lines (`b,   # second`
 * above the `]`): the yaml library reads it as the collection's own, past its bracket. A release
 * that replaced the list wrote it twice (`b,   # second` and `] # second`), one that dropped that
 * item left its comment behind under the list, and one that changed the last value moved it past
 * the `}`. It belongs to that item: kept with it, or warned about with it when the item goes.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, current: string, incoming: string) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

describe("the comment after a flow collection's last item stays that item's", () => {
  const current = "port: 8080\nhosts: [\n  a,   # first\n  b,   # second\n]\nname: x\n";

  it("a release adding an item keeps the user's lines as written, each comment once", () => {
    const result = merge(
      "port: 80\nhosts: [\n  a,\n  b,\n]\nname: x\n",
      current,
      "port: 80\nhosts: [\n  a,\n  b,\n  c,\n]\nname: x\n",
    );
    expect(result.text).toBe("port: 8080\nhosts: [\n  a,   # first\n  b,   # second\n  c\n]\nname: x\n");
    expect(result.warnings).toEqual([]);
  });

  it("a release dropping that item drops its comment, and says so; a comment after the bracket stays", () => {
    const withTail = current.replace("]\n", "]   # after\n");
    const result = merge("port: 80\nhosts: [a, b]\nname: x\n", withTail, "port: 80\nhosts: [a]\nname: x\n");
    expect(result.text).toBe("port: 8080\nhosts: [\n  a    # first\n]   # after\nname: x\n");
    expect(result.warnings).toEqual([
      "hosts: the release's value replaced yours, and your comments inside it went with it (# second (line 4))",
    ]);
  });

  it("comment lines before the bracket are the last item's, one after it the list's", () => {
    // Read as one comment of the list's, the three were written under `hosts: [a, b, c]`.
    const mine = "hosts: [\n  a,\n  b,   # x\n  # y\n]   # tail\nz: 1\n";
    const result = merge("hosts: [a, b]\nz: 1\n", mine, "hosts: [a, b, c]\nz: 2\n");
    expect(result.text).toBe("hosts: [\n  a,\n  b,   # x\n  # y\n  c\n]   # tail\nz: 2\n");
    expect(result.warnings).toEqual([]);
  });

  it("a flow mapping's last value the release changes keeps its line as the user wrote it", () => {
    const result = merge(
      "opts: {\n  a: 1,\n  b: 2,\n}\n",
      "opts: {\n  a: 1,  # one\n  b: 2,  # two\n}\n",
      "opts: {\n  a: 1,\n  b: 3,\n}\n",
    );
    expect(result.text).toBe("opts: {\n  a: 1,  # one\n  b: 3,  # two\n}\n");
    expect(result.warnings).toEqual([]);
  });
});
