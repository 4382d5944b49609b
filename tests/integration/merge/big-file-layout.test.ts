/**
 * A big YAML or JSON config whose release changes more than a thousand lines keeps the user's
 * layout on every line, through the real CLI. Past about a thousand changed lines the line
 * alignment gave up and the library's layout replaced every line of the file, unchanged ones
 * included, with no warning, although the README promises that every line the merge did not
 * change stays as written and that a line that loses its layout is named in a WARNING.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateOverEdits } from "../cli/local-app.js";

const manifest = (version: string) => `version: "${version}"
files:
  "big.yaml": { action: merge_yaml }
  "big.json": { action: merge_json }
`;

/** `count` keys; the release changes those `changed` picks. `spaced` is the operator's layout. */
function yaml(count: number, value: (k: number) => number, spaced: boolean): string {
  const lines: string[] = [];
  for (let k = 0; k < count; k++) {
    lines.push(spaced ? `key_${k}:   ${value(k)}      # note ${k}` : `key_${k}: ${value(k)} # note ${k}`);
  }
  return `${lines.join("\n")}\n`;
}

function json(count: number, value: (k: number) => number, spaced: boolean): string {
  const lines: string[] = [];
  for (let k = 0; k < count; k++) {
    const comma = k === count - 1 ? "" : ",";
    lines.push(spaced ? `    "key_${k}" :  ${value(k)}${comma}` : `  "key_${k}": ${value(k)}${comma}`);
  }
  return `{\n${lines.join("\n")}\n}\n`;
}

const warnings = (output: string) => output.split("\n").filter((line) => line.includes("WARNING"));

describe("a big config whose release changes many lines", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it.each([
    // Past a million pairs of changed lines (1,100 × 1,100) they were not paired with the user's.
    ["every key changed", 1_100, () => true],
    // Past 2,000 line edits (1,200 changed lines, each a deletion and an insertion) no line was aligned.
    ["every other key changed", 2_400, (k: number) => k % 2 === 0],
  ])("keeps the operator's spacing and comment columns on every line (%s)", async (_name, count, changed) => {
    const old = () => 1;
    const released = (k: number) => (changed(k) ? 2 : 1);
    const { run, read } = await updateOverEdits(app, manifest, {
      v1: { "big.yaml": yaml(count, old, false), "big.json": json(count, old, false) },
      edited: { "big.yaml": yaml(count, old, true), "big.json": json(count, old, true) },
      v2: { "big.yaml": yaml(count, released, false), "big.json": json(count, released, false) },
    });
    expect(await read("big.yaml")).toBe(yaml(count, released, true));
    expect(await read("big.json")).toBe(json(count, released, true));
    expect(warnings(run.stdout + run.stderr)).toEqual([]);
  });
});
