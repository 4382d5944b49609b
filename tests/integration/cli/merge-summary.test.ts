/**
 * What a run's config merges did is in its human output, not only in the JSON log on stderr and in
 * --json: the key report as one stdout line per merged file (the operator's values kept), and each
 * merge WARNING (comments that went, a merged config replaced whole with the operator's values) as
 * a plain `myapp: WARNING:` line. Before, all of these printed only "myapp: updated 1.0.0 → 2.0.0".
 * Real CLI, real files.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp, updateOverEdits } from "./local-app.js";

const MERGE = (version: string) => `version: "${version}"\nfiles:\n  config.toml: {action: merge_toml}\n`;

function plainWarnings(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("myapp: WARNING: "));
}

describe("a run's merges in its human output (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("names the kept, added, updated and removed keys under the update line, and the merge's WARNINGs", async () => {
    const { run, read } = await updateOverEdits(app, MERGE, {
      v1: { "config.toml": "a = 1\nb = 2\nold = 1\n" },
      edited: { "config.toml": "a = 10\nb = 2\n# ops: old is read by the cron job\nold = 1\n" },
      v2: { "config.toml": "a = 1\nb = 3\nc = 4\n" },
    });
    expect(await read("config.toml")).toBe("a = 10\nb = 3\nc = 4\n");
    expect(run.stdout.split("\n")).toEqual([
      "myapp: updated 1.0.0 → 2.0.0",
      "myapp: merged config.toml: 1 kept (a), 1 added (c), 1 updated (b), 1 removed (old)",
      "",
    ]);
    expect(plainWarnings(run.stderr)).toEqual([
      expect.stringMatching(
        /^myapp: WARNING: merge of config\.toml: your comments went with the keys the merge removed \(old\): # ops: old is read by the cron job/,
      ),
    ]);
  });

  it("names a %YAML 1.1 file's `on:` key as written, not as the boolean it reads as", async () => {
    // A GitHub Actions-style workflow: the report said `1 kept (true.push)`, `added (true.pr)`.
    const yaml = (version: string) => `version: "${version}"\nfiles:\n  ci.yaml: {action: merge_yaml}\n`;
    const v1 = "%YAML 1.1\n---\nname: ci\non:\n  push: main\n";
    const { run, read } = await updateOverEdits(app, yaml, {
      v1: { "ci.yaml": v1 },
      edited: { "ci.yaml": v1.replace("push: main", "push: dev") },
      v2: { "ci.yaml": `${v1}  pr: all\n` },
    });
    expect(await read("ci.yaml")).toBe("%YAML 1.1\n---\nname: ci\non:\n  push: dev\n  pr: all\n");
    expect(run.stdout).toContain(
      "myapp: merged ci.yaml: 1 kept (on.push), 1 added (on.pr), 0 updated, 0 removed\n",
    );
  });

  it("names at most five keys of a kind and counts the rest; --quiet prints no merge line but keeps the WARNINGs", async () => {
    const keys = (value: number) => Array.from({ length: 7 }, (_, i) => `k${i} = ${value}\n`).join("");
    await app.release("v1", MERGE("1.0.0"), { "config.toml": keys(1) });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2", MERGE("2.0.0"), { "config.toml": keys(2) });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      "myapp: merged config.toml: 0 kept, 0 added, 7 updated (k0, k1, k2, k3, k4, … 2 more), 0 removed\n",
    );

    await writeFile(
      join(app.appDir, "config.toml"),
      keys(2).replace("k1 =", "# note: k1 is the limit\nk1 ="),
    );
    await app.release("v3", MERGE("3.0.0"), { "config.toml": "k0 = 3\n" });
    const quiet = await runShip(["--config", app.config, "--quiet"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe("");
    expect(plainWarnings(quiet.stderr)).toEqual([expect.stringContaining("# note: k1 is the limit")]);
  });

  it("a merged config the release replaces whole: one WARNING naming the values that went, no 'merged' line", async () => {
    await app.release("v1", MERGE("1.0.0"), { "config.toml": "a = 1\nb = 2\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "config.toml"), "# mine\na = 10\nb = 2\n");
    await app.release("v2", 'version: "2.0.0"\n', { "config.toml": "a = 1\nb = 3\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("myapp: updated 1.0.0 → 2.0.0\n");
    expect(plainWarnings(run.stderr)).toEqual([
      expect.stringMatching(
        /^myapp: WARNING: config\.toml was merged until now, but this release's manifest has no rule for it .*so these values of yours went: a; your comments went: # mine \(line 1\); your copy is in the backup, \S+/,
      ),
    ]);
  });

  it("an update that failed and was restored names no merge: the app's config is the one it had", async () => {
    await app.release("v1", MERGE("1.0.0"), { "config.toml": "a = 1\nb = 2\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "config.toml"), "a = 10\nb = 2\n");
    await app.release("v2", `${MERGE("2.0.0")}hooks:\n  post_update:\n    - "false"\n`, {
      "config.toml": "a = 1\nb = 3\n",
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(1);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("a = 10\nb = 2\n");
    expect(run.stdout).not.toContain("merged");
  });

  it("--json of an update that failed and was restored lists no merge either (the restore undid them)", async () => {
    // --json and the hub's report listed `merges: [{ file: "config.toml", updated: ["b"] … }]` for a
    // failed_restored run: changes the restore had taken back, while the plain output said none.
    await app.release("v1", MERGE("1.0.0"), { "config.toml": "a = 1\nb = 2\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "config.toml"), "a = 10\nb = 2\n");
    await app.release("v2", `${MERGE("2.0.0")}hooks:\n  post_update:\n    - "false"\n`, {
      "config.toml": "a = 1\nb = 3\n",
    });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(1);
    const [report] = (JSON.parse(run.stdout) as { apps: { result: string; merges: unknown[] }[] }).apps;
    expect(report?.result).toBe("failed_restored");
    expect(report?.merges).toEqual([]);
    expect(await readFile(join(app.appDir, "config.toml"), "utf8")).toBe("a = 10\nb = 2\n");
  });
});
