/**
 * TOML arrays of tables whose elements hold sub-tables (a Telegraf output's
 * `[outputs.influxdb.tagpass]`, a `[[fruit.variety]]` inside `[[fruit]]`), through the real CLI.
 * The README promises that an element the release keeps stays as the operator wrote it, comments
 * included, and that one it changes is the operator's element edited to the release's values. With
 * a sub-table in any element, the whole array came back as the release's text instead: a release
 * adding one output took every comment of every output along (with a WARNING).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateOverEdits } from "../cli/local-app.js";

const shipped =
  '[agent]\ninterval = "10s"\n\n[[outputs.influxdb]]\n  urls = ["http://a:8086"]\n  [outputs.influxdb.tagpass]\n    env = ["prod"]\n\n[[outputs.influxdb]]\n  urls = ["http://b:8086"]\n';
const operators =
  '[agent]\ninterval = "10s"\n\n# primary\n[[outputs.influxdb]]\n  urls = ["http://a:8086"]  # ops: primary\n  [outputs.influxdb.tagpass]\n    env = ["prod"]   # only prod\n\n[[outputs.influxdb]]\n  urls = ["http://b:8086"]  # backup\n';

const after = (text: string, line: string, added: string) => {
  expect(text).toContain(line);
  return text.replace(line, line + added);
};

/** Each file: the release's copy and what the operator's copy must become. */
const cases: Record<string, { v2: string; merged: string }> = {
  "added-element.toml": {
    v2: `${shipped}\n[[outputs.influxdb]]\n  urls = ["http://c:8086"]\n`,
    merged: `${operators}\n[[outputs.influxdb]]\n  urls = ["http://c:8086"]\n`,
  },
  "changed-element.toml": {
    v2: after(shipped, 'urls = ["http://a:8086"]\n', '  timeout = "5s"\n'),
    merged: after(operators, 'urls = ["http://a:8086"]  # ops: primary\n', '  timeout = "5s"\n'),
  },
  "changed-subtable.toml": {
    v2: after(shipped, 'env = ["prod"]\n', '    region = ["eu"]\n'),
    merged: after(operators, 'env = ["prod"]   # only prod\n', '    region = ["eu"]\n'),
  },
  "new-subtable.toml": {
    v2: after(shipped, 'urls = ["http://b:8086"]\n', '  [outputs.influxdb.tagdrop]\n    env = ["dev"]\n'),
    merged: after(
      operators,
      'urls = ["http://b:8086"]  # backup\n',
      // A new table lands set apart by a blank line, as one the merge adds at the end of a file does.
      '\n  [outputs.influxdb.tagdrop]\n    env = ["dev"]\n',
    ),
  },
};

const fruit = {
  v1: '[[fruit]]\nname = "apple"\n[[fruit.variety]]\nname = "red"\n',
  edited: '[[fruit]]\nname = "apple" # ours\n[[fruit.variety]]\nname = "red" # the first\n',
  v2: '[[fruit]]\nname = "apple"\n[[fruit.variety]]\nname = "red"\n[[fruit.variety]]\nname = "green"\n',
  merged:
    '[[fruit]]\nname = "apple" # ours\n[[fruit.variety]]\nname = "red" # the first\n[[fruit.variety]]\nname = "green"\n',
};

const names = [...Object.keys(cases), "fruit.toml"];
const manifest = (version: string) =>
  `version: "${version}"\nfiles:\n${names.map((name) => `  "${name}": { action: merge_toml }\n`).join("")}`;
const each = (pick: (name: string) => string) => Object.fromEntries(names.map((name) => [name, pick(name)]));

describe("TOML arrays of tables with sub-tables in their elements", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("keep the operator's elements as written and edit a changed one in place, comments included", async () => {
    const { run, read } = await updateOverEdits(app, manifest, {
      v1: each((name) => (name === "fruit.toml" ? fruit.v1 : shipped)),
      edited: each((name) => (name === "fruit.toml" ? fruit.edited : operators)),
      v2: each((name) => (name === "fruit.toml" ? fruit.v2 : (cases[name]?.v2 ?? ""))),
    });
    for (const [name, { merged }] of Object.entries(cases)) expect(await read(name), name).toBe(merged);
    expect(await read("fruit.toml")).toBe(fruit.merged);
    expect((run.stdout + run.stderr).split("\n").filter((line) => line.includes("WARNING"))).toEqual([]);
  });
});
