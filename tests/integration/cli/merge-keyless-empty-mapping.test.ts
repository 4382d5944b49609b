/**
 * A release whose copy of a merged config is an empty mapping — YAML `{}`, JSON `{}`, what a build
 * writes when the template's values were never filled in — holds no key at all, as a 0-byte or
 * comments-only copy does (merge-keyless-release.test.ts). The README: "A release whose copy holds no
 * key at all … is not read as a release dropping every key, under any strategy: your copy is left byte
 * for byte". It is read as one: every key the operator never changed is removed, exit 0, the summary
 * line 'merged config.yaml: … 1 removed (host)', where the same release written as 0 bytes leaves the
 * copy as it is with a WARNING.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const cases = [
  {
    action: "merge_yaml",
    file: "config.yaml",
    v1: "port: 80\nhost: db\n",
    mine: "port: 8080\nhost: db\n",
    empty: "{}\n",
  },
  {
    action: "merge_yaml",
    file: "config.yaml",
    v1: "port: 80\nhost: db\n",
    mine: "port: 8080\nhost: db\n",
    empty: "# defaults\n--- {}\n",
  },
  {
    action: "merge_json",
    file: "config.json",
    v1: '{\n  "port": 80,\n  "host": "db"\n}\n',
    mine: '{\n  "port": 8080,\n  "host": "db"\n}\n',
    empty: "{}\n",
  },
  // The same kind, written otherwise: a spaced or tagged empty mapping, and null (YAML `~`, JSON
  // `null`), which were kept but as "a single value as a whole", not named as a keyless copy.
  {
    action: "merge_yaml",
    file: "config.yaml",
    v1: "port: 80\nhost: db\n",
    mine: "port: 8080\nhost: db\n",
    empty: "!!map { }\n",
  },
  {
    action: "merge_yaml",
    file: "config.yaml",
    v1: "port: 80\nhost: db\n",
    mine: "port: 8080\nhost: db\n",
    empty: "--- ~\n",
  },
  {
    action: "merge_json",
    file: "config.json",
    v1: '{\n  "port": 80,\n  "host": "db"\n}\n',
    mine: '{\n  "port": 8080,\n  "host": "db"\n}\n',
    empty: "null\n",
  },
];

describe("a release whose copy of a merged config is an empty mapping", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  for (const { action, file, v1, mine, empty } of cases) {
    it(`${action}, ${JSON.stringify(empty)}: leaves the operator's copy as it is, with the keyless WARNING`, async () => {
      const manifest = (version: string) =>
        `version: "${version}"\nfiles:\n  "${file}": { action: ${action} }\n`;
      await app.release("v1", manifest("1.0.0"), { [file]: v1 });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      await writeFile(join(app.appDir, file), mine);
      await app.release("v2", manifest("2.0.0"), { [file]: empty });
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stderr).toBe(0);
      // host, never changed by the operator, is still there: the release did not drop every key.
      expect(await readFile(join(app.appDir, file), "utf8")).toBe(mine);
      expect(run.stdout).toContain(`myapp: did not merge ${file}: the release's copy holds no keys`);
    });
  }
});
