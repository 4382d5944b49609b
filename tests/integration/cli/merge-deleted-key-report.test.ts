/**
 * A key the operator deleted that the release still ships as the previous release did stays deleted
 * (README, preserve_user). The key report called it `kept`, the word for a value of the operator's
 * the file still holds: the operator read that the key was in their file. It is now `deleted`, in the
 * summary line, the INFO log line and --json alike; a key whose value the operator changed is still
 * `kept`. Real CLI, each format.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { installRelease, type LocalApp, localApp } from "./local-app.js";

const cases = [
  {
    action: "merge_toml",
    file: "config.toml",
    v1: 'port = 80\nhost = "a"\nworkers = 2\n',
    mine: "port = 8080\nworkers = 2\n",
    v2: 'port = 81\nhost = "a"\nworkers = 4\n',
    merged: "port = 8080\nworkers = 4\n",
  },
  {
    action: "merge_json",
    file: "config.json",
    v1: '{\n  "port": 80,\n  "host": "a",\n  "workers": 2\n}\n',
    mine: '{\n  "port": 8080,\n  "workers": 2\n}\n',
    v2: '{\n  "port": 81,\n  "host": "a",\n  "workers": 4\n}\n',
    merged: '{\n  "port": 8080,\n  "workers": 4\n}\n',
  },
  {
    action: "merge_yaml",
    file: "config.yaml",
    v1: "port: 80\nhost: a\nworkers: 2\n",
    mine: "port: 8080\nworkers: 2\n",
    v2: "port: 81\nhost: a\nworkers: 4\n",
    merged: "port: 8080\nworkers: 4\n",
  },
];

interface JsonRun {
  apps: { merges?: { file: string; kept: string[]; updated: string[]; deleted?: string[] }[] }[];
}

describe("a key the operator deleted, which stays deleted, in the key report (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  for (const { action, file, v1, mine, v2, merged } of cases) {
    const manifest = (version: string) =>
      `version: "${version}"\nfiles:\n  "${file}": { action: ${action} }\n`;
    const update = async (args: string[]) => {
      await installRelease(app, "v1", manifest("1.0.0"), { [file]: v1 });
      await writeFile(join(app.appDir, file), mine);
      await app.release("v2", manifest("2.0.0"), { [file]: v2 });
      const run = await runShip(["--config", app.config, ...args]);
      expect(run.code, run.stderr).toBe(0);
      expect(await readFile(join(app.appDir, file), "utf8")).toBe(merged);
      return run;
    };

    it(`${action}: the summary line and the log say deleted, not kept`, async () => {
      const run = await update([]);
      expect(run.stdout).toContain(
        `myapp: merged ${file}: 1 kept (port), 0 added, 1 updated (workers), 0 removed, 1 deleted (host)\n`,
      );
      expect(run.stderr).toContain(`merged ${file}: 1 kept, 0 added, 1 updated, 0 removed, 1 deleted`);
    });

    it(`${action}: --json lists it under deleted, not kept`, async () => {
      const run = await update(["--json"]);
      const merges = (JSON.parse(run.stdout) as JsonRun).apps[0]?.merges ?? [];
      expect(merges).toEqual([
        expect.objectContaining({ file, kept: ["port"], updated: ["workers"], deleted: ["host"] }),
      ]);
    });
  }
});
