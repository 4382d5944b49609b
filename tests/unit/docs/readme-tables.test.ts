/**
 * README tables are read as tables: a row with a cell too many or too few (a column that slid into the
 * next row when a row was inserted) puts a test file under the wrong attack, or shows none.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");

/** Cells of one table row; a `|` inside a code span or escaped as `\|` is not a separator. */
function cells(row: string): number {
  let count = 0;
  let inCode = false;
  for (let i = 0; i < row.length; i++) {
    const c = row[i];
    if (c === "`") inCode = !inCode;
    else if (c === "\\") i++;
    else if (c === "|" && !inCode) count++;
  }
  return count - 1;
}

describe("README tables", () => {
  it("every row has as many cells as its header", () => {
    const lines = readme.split("\n");
    const bad: string[] = [];
    let width = 0;
    lines.forEach((line, i) => {
      if (!line.startsWith("|")) {
        width = 0;
        return;
      }
      const n = cells(line);
      if (width === 0) width = n;
      else if (n !== width) bad.push(`README.md:${i + 1}: ${n} cells, the header has ${width}`);
    });
    expect(bad).toEqual([]);
  });
});
