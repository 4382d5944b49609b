import { describe, expect, it } from "vitest";
import { positionInToml, scanTomlKeys } from "../../../shared/config/toml-positions.js";

const text = [
  "# comment with key = value", //                1
  "top = 1 # trailing", //                          2
  '[a."b.c"]', //                                   3
  "x.y = 'lit'", //                                 4
  'arr = [ "one", # comment', //                    5
  "  [1, 2], { k = 'v' } ]", //                     6
  'ml = """', //                                    7
  "not = a key", //                                 8
  '"""', //                                         9
  "[[list]]", //                                    10
  "n = 1", //                                       11
  "[[list]]", //                                    12
  "  n = 2", //                                     13
].join("\n");

describe("scanTomlKeys", () => {
  const positions = scanTomlKeys(text);
  it.each([
    [["top"], 2, 1],
    [["a"], 3, 2],
    [["a", "b.c"], 3, 4],
    [["a", "b.c", "x"], 4, 1],
    [["a", "b.c", "x", "y"], 4, 3],
    [["a", "b.c", "arr", 0], 5, 9],
    [["a", "b.c", "arr", 1, 1], 6, 7],
    [["a", "b.c", "arr", 2, "k"], 6, 13],
    [["a", "b.c", "ml"], 7, 1],
    [["list", 1, "n"], 13, 3],
  ])("%j at %i:%i", (path, line, column) => {
    expect(positionInToml(positions, path)).toEqual({ line, column });
  });

  it("does not take text inside a multi-line string for a key", () => {
    expect(positions.has(JSON.stringify(["a", "b.c", "not"]))).toBe(false);
  });

  it("falls back to the nearest written ancestor, or nothing", () => {
    expect(positionInToml(positions, ["a", "b.c", "missing"])).toEqual({ line: 3, column: 4 });
    expect(positionInToml(positions, ["nowhere"])).toBeUndefined();
  });
});
