/**
 * A comment the previous release shipped above its YAML list's first item, in a file the user
 * left as shipped there (they edited another key), when the new release moves that item down:
 * - the release keeps its note on the item: the merged file showed the note twice, over the new
 *   first item and over the moved one (`# main port` above 443 and above 80);
 * - the release's copy has no note there: the note stayed at the top, over an item it never
 *   described (`# web service` above `- name: db`), where TOML moves the comment above an
 *   `[[array]]` element with that element.
 * README: a shipped comment the release dropped is no loss to report, and a release with no comment
 * there takes none away; a heading stays at the top only when the release's list also begins with
 * it. Met by `ship` on a merge_yaml file as well (merged config.yaml: 1 kept, 1 updated).
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (format: "yaml" | "toml", base: string, current: string, incoming: string) =>
  mergeConfigFile({ format, fileName: `c.${format}`, base, current, incoming, strategy: "preserve_user" });

describe("a shipped note above a YAML list's first item the release moves down", () => {
  it("kept by the release on that item: the note is written once, over that item", () => {
    const base = "name: app\nports:\n  # main port\n  - 80\n  - 443\n";
    const incoming = "name: app\nports:\n  - 443\n  # main port\n  - 80\n";
    const result = merge("yaml", base, base.replace("name: app", "name: mine"), incoming);
    expect(result.text).toBe(incoming.replace("name: app", "name: mine"));
    expect(result.warnings).toEqual([]);
  });

  it("not in the release's copy: it does not land over the item the release put first", () => {
    const base =
      "name: app\nsvcs:\n  # web service\n  - name: web\n    port: 80\n  - name: db\n    port: 5432\n";
    const incoming = "name: app\nsvcs:\n  - name: db\n    port: 5432\n  - name: web\n    port: 80\n";
    const result = merge("yaml", base, base.replace("name: app", "name: mine"), incoming);
    expect(result.text).not.toMatch(/# web service\n {2}- name: db/);
    // As the TOML merge does with the comment above an [[array]] element.
    const toml = merge(
      "toml",
      '# web endpoint\n[[ep]]\nname = "web"\n\n[[ep]]\nname = "db"\n',
      '# web endpoint\n[[ep]]\nname = "web"\n\n[[ep]]\nname = "db"\n',
      '[[ep]]\nname = "db"\n\n[[ep]]\nname = "web"\n',
    );
    expect(toml.text).not.toMatch(/# web endpoint\n\[\[ep\]\]\nname = "db"/);
  });
});
