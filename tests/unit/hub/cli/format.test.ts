/**
 * The CLI's tables line up in a terminal: widths were counted in UTF-16 units, so a CJK wave name
 * or agent id (2 columns, 1 unit), an emoji (2 columns, 2 or more units) or a name written with a
 * combining accent (1 column, 2 units) pushed or pulled every column after it out of line.
 */
import { describe, expect, it } from "vitest";
import { table } from "../../../../hub/cli/format.js";

describe("table", () => {
  it("pads each cell to the columns a terminal draws, not to its UTF-16 length", () => {
    const family = "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}";
    const rows = [
      ["日本", "ok"],
      ["\u{1F680}x", "ok"],
      ["cafe\u0301", "ok"],
      [family, "ok"],
      ["ｗｉ", "ok"],
      ["\u{1F1E9}\u{1F1EA}", "ok"],
      ["plain", "ok"],
    ];
    expect(table(["NAME", "STATE"], rows).split("\n")).toEqual([
      "NAME   STATE",
      "日本   ok",
      "\u{1F680}x    ok",
      "cafe\u0301   ok",
      `${family}     ok`,
      "ｗｉ   ok",
      "\u{1F1E9}\u{1F1EA}     ok",
      "plain  ok",
    ]);
  });

  it("a wide header is as wide as a terminal draws it", () => {
    expect(table(["名前", "X"], [["a", "1"]]).split("\n")).toEqual(["名前  X", "a     1"]);
  });
});
