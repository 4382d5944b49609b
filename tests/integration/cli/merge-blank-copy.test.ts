/**
 * A blank config (0 bytes: a disk that filled) is merged as a new copy in every format: the
 * release's keys, with a WARNING. A blank `.json` under merge_json was refused with exit 2 ("the
 * file is empty") on every run, where the same file under merge_yaml took the release's copy.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const v1 = '{\n  "name": "app",\n  "port": 80\n}\n';
const v2 = '{\n  "name": "app",\n  "port": 8080,\n  "tls": true\n}\n';

describe("a blank JSON config", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it.each(["merge_json", "merge_yaml"])(
    "under %s takes the release's copy, with a WARNING, exit 0",
    async (action) => {
      const manifest = (version: string) =>
        `version: "${version}"\nfiles:\n  "config.json": { action: ${action} }\n`;
      await app.release("v1", manifest("1.0.0"), { "config.json": v1 });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      await writeFile(join(app.appDir, "config.json"), "");
      await app.release("v2", manifest("2.0.0"), { "config.json": v2 });
      const run = await runShip(["--config", app.config, "--json"]);
      expect(run.code, run.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "config.json"), "utf8")).toBe(v2);
      const report = JSON.parse(run.stdout) as {
        apps: { merges?: { file: string; added: string[]; warnings: string[] }[] }[];
      };
      expect(report.apps[0]?.merges).toEqual([
        expect.objectContaining({
          file: "config.json",
          added: ["name", "port", "tls"],
          warnings: [
            "your copy is empty: merged as a new copy (the release's keys added), not as every key deleted by you",
          ],
        }),
      ]);
    },
  );
});
