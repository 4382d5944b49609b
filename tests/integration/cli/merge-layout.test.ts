/**
 * Config merges through the real CLI keep the layout of the user's lines and say what they could
 * not keep: a YAML file with aligned comments, a JSON file with inline objects and 4-space indents,
 * and a TOML file without a final newline, each edited by the operator between two releases. A
 * config the operator replaced with a symlink to a shared copy is theirs: left as it is, said.
 */
import { lstat, mkdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp, updateOverEdits } from "./local-app.js";

const manifest = (version: string) => `version: "${version}"
files:
  "config.yaml": { action: merge_yaml }
  "config.json": { action: merge_json }
  "config.toml": { action: merge_toml }
`;

const v1 = {
  "config.yaml": "server:\n  port: 8080\n  host: a\n",
  "config.json": '{"a": 1, "db": {"c": 7}, "split": {"x": 1, "y": 2}}\n',
  "config.toml": "[t]\nx = 1\n",
};

const v2 = {
  "config.yaml": "server:\n  port: 8080\n  host: b\n  tls: true\n",
  "config.json": '{"a": 2, "db": {"c": 7}, "split": {"x": 1, "y": 3}, "n": true}\n',
  "config.toml": "[t]\nx = 1\ny = 2\n",
};

/** The operator's edits: their own values, aligned comments, inline objects, no final newline. */
const edited = {
  "config.yaml": "server:\n  port: 9090      # mine\n  host: a         # host\n",
  "config.json": '{\n    "a": 1,\n    "db": {"c": 7},\n    "split": {"x": 1,\n              "y": 2}\n}\n',
  "config.toml": "[t]\n  x = 5  # mine",
};

describe("config merges through the CLI keep the user's layout", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("keeps aligned comments, inline objects, indentation and a missing final newline; warns naming file and lines", async () => {
    const { run, read } = await updateOverEdits(app, manifest, { v1, edited, v2 });

    expect(await read("config.yaml")).toBe(
      "server:\n  port: 9090      # mine\n  host: b         # host\n  tls: true\n",
    );
    // The user split `split` over two lines and the release changed it: that layout is lost, said.
    expect(await read("config.json")).toBe(
      '{\n    "a": 2,\n    "db": {"c": 7},\n    "split": {\n        "x": 1,\n        "y": 3\n    },\n    "n": true\n}\n',
    );
    expect(await read("config.toml")).toBe("[t]\n  x = 5  # mine\n  y = 2");

    const warnings = (run.stdout + run.stderr)
      .split("\n")
      .filter((line) => line.includes('"level":40'))
      .map((line) => JSON.parse(line) as { msg: string; file: string });
    expect(warnings).toEqual([
      expect.objectContaining({
        file: "config.json",
        msg: 'merge of config.json: lines 4 (`"split": {"x": 1,`), 5 (`"y": 2}`) lost their layout (spacing, line breaks, inline objects and arrays), because the merge changed them: rewritten in the merge\'s own layout',
      }),
    ]);
  });

  it("a key the release removed takes the operator's comments along only with a warning naming them (TOML and YAML); the report carries it", async () => {
    const removing = (version: string) => `version: "${version}"
files:
  "config.yaml": { action: merge_yaml }
  "config.toml": { action: merge_toml }
`;
    await app.release("v1", removing("1.0.0"), {
      "config.yaml": "a: 1\nb: 2\nc: 3\n",
      "config.toml": "[s]\na = 1\nb = 2\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(
      join(app.appDir, "config.yaml"),
      "a: 1\n# b: keep it small\nb: 2   # do not raise\nc: 3\n",
    );
    await writeFile(join(app.appDir, "config.toml"), "[s]\na = 1\n# ops: b stays 2\nb = 2\n");
    await app.release("v2", removing("2.0.0"), {
      "config.yaml": "a: 1\nc: 3\n",
      "config.toml": "[s]\na = 1\n",
    });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config.yaml"), "utf8")).toBe("a: 1\nc: 3\n");
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("[s]\na = 1\n");
    const warnings = run.stderr
      .split("\n")
      .filter((line) => line.includes('"level":40'))
      .map((line) => JSON.parse(line) as { msg: string; file: string });
    expect(warnings.sort((x, y) => x.file.localeCompare(y.file))).toEqual([
      expect.objectContaining({
        file: "config.toml",
        msg: "merge of config.toml: your comments went with the keys the merge removed (s.b): # ops: b stays 2 (line 3)",
      }),
      expect.objectContaining({
        file: "config.yaml",
        msg: "merge of config.yaml: your comments went with the keys the merge removed (b): # b: keep it small (line 2), # do not raise (line 3)",
      }),
    ]);
    // The same words reach the hub: the run's JSON report carries them per file.
    expect(run.stdout).toContain("your comments went with the keys the merge removed (s.b)");
  });

  it("a config the operator replaced with a symlink to a shared copy is left alone, with a warning in the log and the report, for every format", async () => {
    await app.release("v1", manifest("1.0.0"), v1);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const shared = join(app.root, "shared");
    await mkdir(shared);
    const mine = {
      "config.yaml": "server:\n  port: 1\n",
      "config.json": '{"a": 9}\n',
      "config.toml": "[t]\nx = 9\n",
    };
    for (const [name, text] of Object.entries(mine)) {
      await writeFile(join(shared, name), text);
      await rm(join(app.appDir, name));
      await symlink(join(shared, name), join(app.appDir, name));
    }
    await app.release("v2", manifest("2.0.0"), v2);
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    for (const [name, text] of Object.entries(mine)) {
      expect(await readlink(join(app.appDir, name))).toBe(join(shared, name));
      expect(await readFile(join(shared, name), "utf8")).toBe(text);
      expect(run.stderr).toContain(
        `merge of ${name}: it is a symlink (→ ${join(shared, name)}), not the file ship installed: not merged and left as it is`,
      );
    }
    expect(run.stdout).toContain("merge its changes into the link's target by hand");

    // No longer ship's file: a release that drops it leaves the link too.
    await app.release("v3", 'version: "3.0.0"\n', { "other.txt": "3\n" });
    const dropped = await runShip(["--config", app.config]);
    expect(dropped.code, dropped.stderr).toBe(0);
    for (const name of Object.keys(mine))
      expect((await lstat(join(app.appDir, name))).isSymbolicLink()).toBe(true);
  });

  it("a linked config warns once per change of the release's copy: silent while that copy stays the same", async () => {
    const toml = (version: string) =>
      `version: "${version}"\nfiles:\n  "config.toml": { action: merge_toml }\n`;
    await app.release("v1", toml("1.0.0"), { "config.toml": "[t]\nx = 1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const target = join(app.root, "config.toml");
    await writeFile(target, "[t]\nx = 9\n");
    await rm(join(app.appDir, "config.toml"));
    await symlink(target, join(app.appDir, "config.toml"));
    const linkedWarnings = async (name: string, version: string, text: string) => {
      await app.release(name, toml(version), { "config.toml": text, "app.txt": `${name}\n` });
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stderr).toBe(0);
      expect(await readlink(join(app.appDir, "config.toml"))).toBe(target);
      return (run.stdout + run.stderr).split("\n").filter((line) => line.includes("symlink"));
    };
    // The release's copy is the one ship installed before the link: nothing to merge by hand.
    expect(await linkedWarnings("v2", "2.0.0", "[t]\nx = 1\n")).toEqual([]);
    const changed = await linkedWarnings("v3", "3.0.0", "[t]\nx = 1\ny = 2\n");
    expect(changed.filter((line) => line.includes("WARNING"))).toEqual([
      `myapp: WARNING: merge of config.toml: it is a symlink (→ ${target}), not the file ship installed: not merged and left as it is; the release's copy was not installed, merge its changes into the link's target by hand`,
    ]);
    expect(await linkedWarnings("v4", "4.0.0", "[t]\nx = 1\ny = 2\n")).toEqual([]);
    expect(await readFile(target, "utf8")).toBe("[t]\nx = 9\n");
  });

  it("merge_strategy replace keeps a Windows copy's BOM and CRLF, and leaves a copy already holding the release's values", async () => {
    const replacing = (version: string) => `version: "${version}"
files:
  "config.yaml": { action: merge_yaml, merge_strategy: replace }
  "config.json": { action: merge_json, merge_strategy: replace }
  "config.toml": { action: merge_toml, merge_strategy: replace }
`;
    await app.release("v1", replacing("1.0.0"), v1);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const windows = (text: string) => `\uFEFF${text.replaceAll("\n", "\r\n")}`;
    // Saved by a Windows editor: the operator's values, in the operator's form.
    const edited = {
      "config.yaml": windows("server:\n  port: 9999\n  host: a\n"),
      "config.json": windows('{"a": 7, "db": {"c": 7}, "split": {"x": 1, "y": 2}}\n'),
      "config.toml": windows("[t]\nx = 7\n"),
    };
    for (const [name, text] of Object.entries(edited)) await writeFile(join(app.appDir, name), text);
    await app.release("v2", replacing("2.0.0"), v2);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    const read = (name: string) => readFile(join(app.appDir, name), "utf8");
    for (const [name, text] of Object.entries(v2)) expect(await read(name)).toBe(windows(text));

    // Only a comment of the operator's differs from the release's values: nothing to replace.
    const commented = `# ops: checked\n${v2["config.yaml"]}`;
    await writeFile(join(app.appDir, "config.yaml"), commented);
    await app.release("v3", replacing("3.0.0"), v2);
    const again = await runShip(["--config", app.config]);
    expect(again.code, again.stderr).toBe(0);
    expect(await read("config.yaml")).toBe(commented);
  });
});
