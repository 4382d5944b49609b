/**
 * A comment the user wrote above a YAML list's first item is a note on that item, and goes where
 * the item goes, as the comment above a TOML `[[array]]` element does; a heading the release also
 * begins the list with stays at the top. The yaml library holds those lines on the list, so they
 * stayed at the top: over a new item the release put first, or over the next item when it dropped
 * that one (and then no warning said the note had lost its item).
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, current: string, incoming: string) =>
  mergeConfigFile({ format: "yaml", fileName: "c.yaml", base, current, incoming, strategy: "preserve_user" });

describe("the user's note above a list's first item", () => {
  it("goes with a mapping item the release moves down by putting a new one first", () => {
    const base = "routes:\n  - name: a\n    to: x\n  - name: b\n    to: y\n";
    const current = base.replace("routes:\n", "routes:\n  # ops: a is primary\n");
    const incoming = "routes:\n  - name: z\n    to: q\n  - name: a\n    to: x\n  - name: b\n    to: y\n";
    const result = merge(base, current, incoming);
    expect(result.text).toBe(incoming.replace("  - name: a\n", "  # ops: a is primary\n  - name: a\n"));
    expect(result.warnings).toEqual([]);
  });

  it("goes with a scalar item, and with a mapping item the release changes", () => {
    const hosts = merge(
      "hosts:\n  - a\n  - b\n",
      "hosts:\n  # ops: a is primary\n  - a\n  - b\n",
      "hosts:\n  - z\n  - a\n  - b\n",
    );
    expect(hosts.text).toBe("hosts:\n  - z\n  # ops: a is primary\n  - a\n  - b\n");
    const base = "routes:\n  - name: a\n    to: x\n  - name: b\n    to: y\n";
    const current =
      "routes:\n  # ops: a is primary\n  - name: a\n    to: x   # mine\n  - name: b\n    to: y\n";
    const incoming = "routes:\n  - name: z\n    to: q\n  - name: a\n    to: x2\n  - name: b\n    to: y\n";
    const routes = merge(base, current, incoming);
    expect(routes.text).toBe(
      "routes:\n  - name: z\n    to: q\n  # ops: a is primary\n  - name: a\n    to: x2  # mine\n  - name: b\n    to: y\n",
    );
    expect([...hosts.warnings, ...routes.warnings]).toEqual([]);
  });

  it("goes with a mapping or list item the release changes that holds no other comment of the user's", () => {
    // The note was the item's only comment, and it is held on the list: the changed item was taken
    // as uncommented, the release's, and the note went with a WARNING although its item stayed.
    const base = "routes:\n  - name: a\n    to: x\n  - name: b\n    to: y\n";
    const current = base.replace("routes:\n", "routes:\n  # ops: a is primary\n");
    const cases = [
      // Changed in its place, and changed while the release puts a new item first.
      [
        base.replace("to: x", "to: x2"),
        "routes:\n  # ops: a is primary\n  - name: a\n    to: x2\n  - name: b\n    to: y\n",
      ],
      [
        "routes:\n  - name: z\n    to: q\n  - name: a\n    to: x2\n  - name: b\n    to: y\n",
        "routes:\n  - name: z\n    to: q\n  # ops: a is primary\n  - name: a\n    to: x2\n  - name: b\n    to: y\n",
      ],
    ];
    for (const [incoming, expected] of cases) {
      const result = merge(base, current, incoming as string);
      expect(result.text).toBe(expected);
      expect(result.warnings).toEqual([]);
    }
    // A list of lists: the first inner list the release changes keeps the note above it.
    const lists = merge(
      "m:\n  - - a\n    - b\n  - - c\n",
      "m:\n  # ops: the pair\n  - - a\n    - b\n  - - c\n",
      "m:\n  - - a\n    - b2\n  - - c\n",
    );
    expect(lists.text).toBe("m:\n  # ops: the pair\n  - - a\n    - b2\n  - - c\n");
    expect(lists.warnings).toEqual([]);
  });

  it("leaves a heading the release also begins the list with at the top", () => {
    const base = "routes:\n  # ==== routes ====\n  - name: a\n    to: x\n  - name: b\n    to: y\n";
    const current = base.replace("# ==== routes ====\n", "# ==== routes ====\n  # ops: a\n");
    const incoming =
      "routes:\n  # ==== routes ====\n  - name: z\n    to: q\n  - name: a\n    to: x\n  - name: b\n    to: y\n";
    const result = merge(base, current, incoming);
    expect(result.text).toBe(incoming.replace("  - name: a\n", "  # ops: a\n  - name: a\n"));
    expect(result.warnings).toEqual([]);
  });

  it("leaves the release's rewritten heading at the top, once, over the user's note", () => {
    // The user kept the previous release's heading and wrote a note under it; the release rewrote
    // the heading. Both headings showed, the old one over the user's item, wherever it went.
    const base = "routes:\n  # ==== routes ====\n  - name: a\n    to: x\n  - name: b\n    to: y\n";
    const current = base.replace("# ==== routes ====\n", "# ==== routes ====\n  # ops: a\n");
    const moved = merge(
      base,
      current,
      "routes:\n  # ==== Routes (v2) ====\n  - name: z\n    to: q\n  - name: a\n    to: x\n  - name: b\n    to: y\n",
    );
    expect(moved.text).toBe(
      "routes:\n  # ==== Routes (v2) ====\n  - name: z\n    to: q\n  # ops: a\n  - name: a\n    to: x\n  - name: b\n    to: y\n",
    );
    const stays = merge(
      base,
      current,
      "routes:\n  # ==== Routes (v2) ====\n  - name: a\n    to: x\n  - name: b\n    to: y2\n",
    );
    expect(stays.text).toBe(
      "routes:\n  # ==== Routes (v2) ====\n  # ops: a\n  - name: a\n    to: x\n  - name: b\n    to: y2\n",
    );
    const hosts = merge(
      "hosts:\n  # hosts\n  - a\n  - b\n",
      "hosts:\n  # hosts\n  # ops: a is primary\n  - a\n  - b\n",
      "hosts:\n  # hosts (v2)\n  - z\n  - a\n  - b\n",
    );
    expect(hosts.text).toBe("hosts:\n  # hosts (v2)\n  - z\n  # ops: a is primary\n  - a\n  - b\n");
    // A release that drops the heading takes it away; the user's note stays on the item.
    const dropped = merge(
      "hosts:\n  # hosts\n  - a\n  - b\n",
      "hosts:\n  # hosts\n  # ops: a is primary\n  - a\n  - b\n",
      "hosts:\n  - a\n  - b\n  - c\n",
    );
    expect(dropped.text).toBe("hosts:\n  # ops: a is primary\n  - a\n  - b\n  - c\n");
    expect([...moved.warnings, ...stays.warnings, ...hosts.warnings, ...dropped.warnings]).toEqual([]);
  });

  it("keeps a heading the user edited, with the note, where the release rewrote it too", () => {
    const result = merge(
      "hosts:\n  # hosts\n  - a\n  - b\n",
      "hosts:\n  # our hosts\n  # ops: a is primary\n  - a\n  - b\n",
      "hosts:\n  # hosts (v2)\n  - a\n  - b\n  - c\n",
    );
    expect(result.text).toBe("hosts:\n  # our hosts\n  # ops: a is primary\n  - a\n  - b\n  - c\n");
  });

  it("goes with the first item the release drops, named, instead of landing on the next one", () => {
    const result = merge(
      "hosts:\n  - a\n  - b\n",
      "hosts:\n  # ops: a is primary\n  - a\n  - b\n",
      "hosts:\n  - b\n",
    );
    expect(result.text).toBe("hosts:\n  - b\n");
    expect(result.warnings.join("\n")).toContain("# ops: a is primary");
  });

  it("shows the next item's own note once when the release drops the first item", () => {
    // The release's comment above its list is then that item's note, and the user's item brought
    // the same lines: an untouched file came back with `# the web one` twice.
    const base =
      "up:\n  # the admin one\n  - name: admin\n    port: 4000\n  # the web one\n  - name: web\n    port: 80\n";
    const incoming =
      "up:\n  # the web one\n  - name: web\n    port: 80\n  # new\n  - name: new\n    port: 81\n";
    const mappings = merge(base, base, incoming);
    expect(mappings.text).toBe(incoming);
    const scalars = merge(
      "h:\n  # a one\n  - a\n  # b one\n  - b\n",
      "h:\n  # a one\n  - a\n  # b one\n  - b\n",
      "h:\n  # b one\n  - b\n  - c\n",
    );
    expect(scalars.text).toBe("h:\n  # b one\n  - b\n  - c\n");
    const headed = merge(
      "h:\n  # hosts\n  # a one\n  - a\n  # b one\n  - b\n",
      "h:\n  # hosts\n  # a one\n  - a\n  # b one\n  - b\n",
      "h:\n  # hosts\n  # b one\n  - b\n  - c\n",
    );
    expect(headed.text).toBe("h:\n  # hosts\n  # b one\n  - b\n  - c\n");
    // One the user edited is theirs: the previous release's words do not come back above it.
    const edited = merge(
      "h:\n  # a one\n  - a\n  # b one\n  - b\n",
      "h:\n  # a one\n  - a\n  # b one, and mine\n  - b\n",
      "h:\n  # b one\n  - b\n  - c\n",
    );
    expect(edited.text).toBe("h:\n  # b one, and mine\n  - b\n  - c\n");
    expect([...mappings.warnings, ...scalars.warnings, ...headed.warnings, ...edited.warnings]).toEqual([]);
  });

  it("stays the release's where the user left the previous release's comment there", () => {
    const base = "hosts:\n  # old heading\n  - a\n";
    const result = merge(base, base, "hosts:\n  # new heading\n  - z\n  - a\n");
    expect(result.text).toBe("hosts:\n  # new heading\n  - z\n  - a\n");
  });
});
