/**
 * A config ship installed whole (no merge rule) that a later release starts to merge. Ship keeps no
 * base copy of such a file, so the merge went two-way: a default the release changed stayed at the
 * old value, reported as `kept`, as if the operator had set it, although the operator never touched
 * the file. When the app still holds the bytes ship installed, that copy is the previous release's.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

interface RunJson {
  apps: { merges?: { file: string; kept: string[]; added: string[]; updated: string[] }[] }[];
}

describe("a release that starts to merge a config ship installed whole", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
    await app.release("v1", 'version: "1.0.0"\n', { "config.yaml": "db:\n  host: localhost\n  pool: 5\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
  });
  afterEach(() => app.cleanup());

  const v2 = () =>
    app.release("v2", 'version: "2.0.0"\nfiles:\n  config.yaml: {action: merge_yaml}\n', {
      "config.yaml": "db:\n  host: localhost\n  pool: 10\n  timeout: 3\n",
    });

  it("untouched by the operator: the release's new defaults arrive, reported updated", async () => {
    await v2();
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const [merge] = (JSON.parse(run.stdout) as RunJson).apps[0]?.merges ?? [];
    expect(merge).toMatchObject({
      file: "config.yaml",
      kept: [],
      added: ["db.timeout"],
      updated: ["db.pool"],
    });
    expect(await readFile(join(app.appDir, "config.yaml"), "utf8")).toBe(
      "db:\n  host: localhost\n  pool: 10\n  timeout: 3\n",
    );
  });

  it("edited by the operator: their values are kept, as no earlier copy tells which are theirs", async () => {
    await writeFile(join(app.appDir, "config.yaml"), "db:\n  host: db.internal\n  pool: 5\n");
    await v2();
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const [merge] = (JSON.parse(run.stdout) as RunJson).apps[0]?.merges ?? [];
    expect(merge).toMatchObject({ kept: ["db.host", "db.pool"], added: ["db.timeout"], updated: [] });
  });

  // A release that adds the rule with a copy holding no key is not merged; the next one merged
  // against that empty copy (recorded as its base), so the operator who never touched the file kept
  // the old default, reported as theirs. It merges against the copy ship installed whole.
  for (const [what, keyless] of [
    ["0 bytes", ""],
    ["an empty mapping", "db: {}\n"],
  ] as const) {
    it(`a keyless copy (${what}) with the new rule: the release after it merges against the copy installed whole`, async () => {
      const manifest = (version: string) =>
        `version: "${version}"\nfiles:\n  config.yaml: {action: merge_yaml}\n`;
      await app.release("v2", manifest("2.0.0"), { "config.yaml": keyless });
      const empty = await runShip(["--config", app.config]);
      expect(empty.code, empty.stderr).toBe(0);
      expect(empty.stderr).toContain("merge of config.yaml: the release's copy holds no keys");
      await app.release("v3", manifest("3.0.0"), {
        "config.yaml": "db:\n  host: localhost\n  pool: 10\n  timeout: 3\n",
      });
      const run = await runShip(["--config", app.config, "--json"]);
      expect(run.code, run.stderr).toBe(0);
      const [merge] = (JSON.parse(run.stdout) as RunJson).apps[0]?.merges ?? [];
      expect(merge).toMatchObject({ kept: [], added: ["db.timeout"], updated: ["db.pool"] });
      expect(await readFile(join(app.appDir, "config.yaml"), "utf8")).toBe(
        "db:\n  host: localhost\n  pool: 10\n  timeout: 3\n",
      );
    });
  }
});
