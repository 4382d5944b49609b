import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { formats, read, write } from "./formats.js";

type Doc = Record<string, unknown>;

function merge3(format: (typeof formats)[number], base: Doc, current: Doc, incoming: Doc) {
  const result = mergeConfigFile({
    format,
    fileName: "f",
    base: write(format, base),
    current: write(format, current),
    incoming: write(format, incoming),
    strategy: "preserve_user",
  });
  return { ...result, value: read(format, result.text) };
}

describe.each(formats)("preserve_user three-way (%s)", (format) => {
  it("a key the user deleted stays deleted unless the release changes it", () => {
    const base = { a: 1, b: 2, c: { d: 3 } };
    const result = merge3(format, base, { a: 1 }, { a: 1, b: 2, c: { d: 4 } });
    expect(result.value).toEqual({ a: 1, c: { d: 4 } });
    expect(result.kept).toEqual(["b"]);
    expect(result.added).toEqual(["c"]);
  });

  it("a key the release dropped stays when the user changed it, inside tables too", () => {
    const base = { old: { x: 1, y: 2 }, gone: "v" };
    const current = { old: { x: 10, y: 2, mine: true }, gone: "v" };
    const result = merge3(format, base, current, {});
    expect(result.value).toEqual({ old: { x: 10, mine: true } });
    expect(result.kept).toEqual(["old.x"]);
    expect([...result.removed].sort()).toEqual(["gone", "old.y"]);
  });

  it("a default the user never touched changes type with the release; a touched one does not", () => {
    const base = { retry: 3, proxy: "none" };
    const current = { retry: 3, proxy: "http://p" };
    const incoming = { retry: { count: 3, delay: 1 }, proxy: { url: "" } };
    const result = merge3(format, base, current, incoming);
    expect(result.value).toEqual({ retry: { count: 3, delay: 1 }, proxy: "http://p" });
    expect(result.updated).toEqual(["retry"]);
    expect(result.kept).toEqual(["proxy"]);
  });

  it("a user value equal to the new release value is neither kept nor updated", () => {
    const result = merge3(format, { level: "info" }, { level: "debug" }, { level: "debug" });
    expect(result.value).toEqual({ level: "debug" });
    expect([result.kept, result.updated]).toEqual([[], []]);
  });

  it("an array the user never touched follows the release as a whole", () => {
    const result = merge3(format, { hosts: ["a", "b"] }, { hosts: ["a", "b"] }, { hosts: ["b", "c"] });
    expect(result.value).toEqual({ hosts: ["b", "c"] });
    expect(result.updated).toEqual(["hosts"]);
  });
});
