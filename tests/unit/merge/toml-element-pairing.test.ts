/**
 * `[[array]]` elements are paired by identity (a key naming one element on each side: name, id,
 * key, or another such as `module`), else by place in arrays of one length, else by likeness — never
 * by place once the release added or dropped one — and each element's comment lines travel with it.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

const merge = (base: string, current: string, incoming: string) =>
  mergeConfigFile({ format: "toml", fileName: "c.toml", base, current, incoming, strategy: "preserve_user" });

const el = (key: string, v: string, body: string) => `[[r]]\n${key} = "${v}"\n${body}`;

describe("a dropped middle element", () => {
  for (const key of ["module", "path", "name", "id"]) {
    it(`keyed by ${key}: the changed one after it keeps its own comments, the dropped one's go, named`, () => {
      const base = `${el(key, "a", "x = 1\n")}\n${el(key, "b", "x = 2\n")}\n${el(key, "c", "x = 3\n")}`;
      const current = base
        .replace(`[[r]]\n${key} = "b"`, `# ops: b\n[[r]]\n${key} = "b"  # ops: b line`)
        .replace(`[[r]]\n${key} = "c"`, `# ops: c\n[[r]]\n${key} = "c"  # ops: c line`);
      const incoming = `${el(key, "a", "x = 1\n")}\n${el(key, "c", "x = 3\ny = 4\n")}`;
      const result = merge(base, current, incoming);
      expect(result.text).toBe(
        `${el(key, "a", "x = 1\n")}\n# ops: c\n[[r]]\n${key} = "c"  # ops: c line\nx = 3\ny = 4\n`,
      );
      expect(result.warnings).toEqual([
        `r: the release dropped your element ${key} = "b", and your comments on it went with it (# ops: b (line 5), # ops: b line (line 7))`,
      ]);
    });
  }

  it("without an identity key: paired by likeness, not by place", () => {
    const base = "[[r]]\nx = 1\nq = 1\n\n[[r]]\nx = 2\nq = 2\n\n[[r]]\nx = 3\nq = 3\n";
    const current = base.replace("[[r]]\nx = 3", "# ops: third\n[[r]]\nx = 3  # ops: mine");
    const incoming = "[[r]]\nx = 1\nq = 1\n\n[[r]]\nx = 3\nq = 30\n";
    const result = merge(base, current, incoming);
    expect(result.text).toBe("[[r]]\nx = 1\nq = 1\n\n# ops: third\n[[r]]\nx = 3  # ops: mine\nq = 30\n");
    expect(result.warnings).toEqual([]);
  });
});

describe("an element the release inserts", () => {
  it("in the middle comes with the release's comment; the user's stay on their elements", () => {
    const base = '# first\n[[r]]\nname = "a"\n\n# second\n[[r]]\nname = "b"\n';
    const current = base.replace("# second\n", "# second\n# ops: b is ours\n");
    const incoming =
      '# first\n[[r]]\nname = "a"\n\n# new one\n[[r]]\nname = "n"\n\n# second\n[[r]]\nname = "b"\n';
    const result = merge(base, current, incoming);
    expect(result.text).toBe(incoming.replace("# second\n", "# second\n# ops: b is ours\n"));
    expect(result.warnings).toEqual([]);
  });
});

describe("a banner right above the first element (no blank line)", () => {
  const banner = "# ===== endpoints =====\n";
  const a = '[[endpoints]]\nname = "a"\nurl = "http://a"\n';
  const b = '[[endpoints]]\nname = "b"\nurl = "http://b"\n';
  const z = '[[endpoints]]\nname = "z"\nurl = "http://z"\n';

  it("stays once at the top when the release puts a new element first", () => {
    const base = `title = "x"\n\n${banner}${a}\n${b}`;
    const current = base.replace(banner, `${banner}# ops: a is primary\n`);
    const incoming = `title = "x"\n\n${banner}${z}\n${a.replace("http://a", "http://a2")}\n${b}`;
    const result = merge(base, current, incoming);
    expect(result.text).toBe(
      `title = "x"\n\n${banner}${z}\n# ops: a is primary\n${a.replace("http://a", "http://a2")}\n${b}`,
    );
    expect(result.warnings).toEqual([]);
  });

  it("stays when the release drops the first element, whose own comment goes, named", () => {
    const base = `${banner}${a}\n${b}`;
    const current = base.replace(banner, `${banner}# ops: a\n`);
    const result = merge(base, current, `${banner}${b}`);
    expect(result.text).toBe(`${banner}${b}`);
    expect(result.warnings).toEqual([
      'endpoints: the release dropped your element name = "a", and your comments on it went with it (# ops: a (line 2))',
    ]);
  });

  it("is the release's where it rewrote the one the user kept: its new one heads the array, once", () => {
    // The user wrote a note under the previous release's heading; both headings showed.
    const v2 = "# ===== endpoints (v2) =====\n";
    const base = `title = "x"\n\n${banner}${a}\n${b}`;
    const current = base.replace(banner, `${banner}# ops: a is primary\n`);
    const a2 = a.replace("http://a", "http://a2");
    const moved = merge(base, current, `title = "x"\n\n${v2}${z}\n${a2}\n${b}`);
    expect(moved.text).toBe(`title = "x"\n\n${v2}${z}\n# ops: a is primary\n${a2}\n${b}`);
    const b2 = b.replace("http://b", "http://b2");
    const stays = merge(base, current, `title = "x"\n\n${v2}${a}\n${b2}`);
    expect(stays.text).toBe(`title = "x"\n\n${v2}# ops: a is primary\n${a}\n${b2}`);
    const dropped = merge(base, current, `title = "x"\n\n${a}\n${b2}`);
    expect(dropped.text).toBe(`title = "x"\n\n# ops: a is primary\n${a}\n${b2}`);
    expect([...moved.warnings, ...stays.warnings, ...dropped.warnings]).toEqual([]);
    // One the user edited stays theirs.
    const edited = base.replace(banner, "# ===== our endpoints =====\n# ops: a is primary\n");
    expect(merge(base, edited, `title = "x"\n\n${v2}${a}\n${b2}`).text).toBe(
      `title = "x"\n\n# ===== our endpoints =====\n# ops: a is primary\n${a}\n${b2}`,
    );
  });

  it("is no banner where the release writes it over every element: each keeps its own", () => {
    const note = "# endpoint\n";
    const base = `${note}${a}\n${note}${b}`;
    const current = base.replace('url = "http://a"', 'url = "http://a"  # mine');
    const incoming = `${note}${z}\n${note}${a}x = 1\n\n${note}${b}`;
    const result = merge(base, current, incoming);
    expect(result.text).toBe(
      `${note}${z}\n${note}${a.replace('"http://a"', '"http://a"  # mine')}x = 1\n\n${note}${b}`,
    );
  });
});

describe("an identity key holding a float a double does not hold", () => {
  it("pairs elements by the float as written: 0.1 and 0.10000000000000001 name two elements", () => {
    const element = (id: string, x: string) => `[[r]]\nid = ${id}\nx = ${x}\n`;
    const [one, more] = ["0.1", "0.10000000000000001"];
    const base = `${element(one, "1")}\n${element(more, "2")}`;
    const current = `${element(one, "1 # mine")}\n${element(more, "2 # mine too")}`;
    const result = merge(base, current, `${element(more, "3")}\n${element(one, "1")}`);
    // Read as one double, the ids named nothing: the elements paired by place, and the comment of
    // the element the release changed went, reported as a dropped element.
    expect(result.text).toBe(`${element(more, "3 # mine too")}\n${element(one, "1 # mine")}`);
    expect(result.warnings).toEqual([]);
  });
});
