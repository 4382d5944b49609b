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

describe("a shipped note above a list's first item: the same kind", () => {
  const mine = (text: string) => text.replace("name: app", "name: mine");
  const svcs = (first: string, second: string) =>
    `name: app\nsvcs:\n${first.replace(/^/gm, "  ")}\n${second.replace(/^/gm, "  ")}\n`;
  const web = "- name: web\n  port: 80";
  const db = "- name: db\n  port: 5432";

  it("mapping items: kept by the release on the item it moves, written once, over it", () => {
    const base = svcs(`# web service\n${web}`, db);
    const incoming = svcs(db, `# web service\n${web}`);
    expect(merge("yaml", base, mine(base), incoming).text).toBe(mine(incoming));
  });

  it("mapping items: the note the release rewrote on the item it moves is the release's", () => {
    const base = svcs(`# web service\n${web}`, db);
    const incoming = svcs(db, `# web service (public)\n${web}`);
    expect(merge("yaml", base, mine(base), incoming).text).toBe(mine(incoming));
  });

  it("mapping items: dropped by the release, it goes with its item", () => {
    const base = svcs(`# web service\n${web}`, db);
    const incoming = svcs(db, web);
    expect(merge("yaml", base, mine(base), incoming).text).toBe(mine(svcs(db, `# web service\n${web}`)));
  });

  it("a list under a nested key, dropped by the release: it goes with its item", () => {
    const base = "name: app\nweb:\n  ports:\n    # main port\n    - 80\n    - 443\n";
    const incoming = "name: app\nweb:\n  ports:\n    - 443\n    - 80\n";
    expect(merge("yaml", base, mine(base), incoming).text).toBe(
      "name: mine\nweb:\n  ports:\n    - 443\n    # main port\n    - 80\n",
    );
  });

  it("CRLF: kept by the release on the item it moves, written once", () => {
    const base = "name: app\r\nports:\r\n  # main port\r\n  - 80\r\n  - 443\r\n";
    const incoming = "name: app\nports:\n  - 443\n  # main port\n  - 80\n";
    expect(merge("yaml", base, mine(base), incoming).text).toBe(mine(incoming).replace(/\n/g, "\r\n"));
  });

  it("the first item dropped by the release: the note does not land on the next one", () => {
    const base = "name: app\nports:\n  # main port\n  - 80\n  - 443\n";
    const incoming = "name: app\nports:\n  - 443\n";
    expect(merge("yaml", base, mine(base), incoming).text).toBe(mine(incoming));
  });

  it("the first item left first by the release, which dropped the note: the note stays", () => {
    const base = "name: app\nports:\n  # main port\n  - 80\n  - 443\n";
    const incoming = "name: app\nports:\n  - 80\n  - 443\n  - 8080\n";
    expect(merge("yaml", base, mine(base), incoming).text).toBe(
      "name: mine\nports:\n  # main port\n  - 80\n  - 443\n  - 8080\n",
    );
  });
});
