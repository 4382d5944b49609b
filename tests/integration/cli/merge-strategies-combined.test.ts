/**
 * A file's `merge_strategies` come from the `files` pattern that matched it and from its own path:
 * the two combine section by section, the path's entry winning for a section both name.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const manifest = (version: string) => `version: "${version}"
files:
  "config/*.yaml":
    action: merge_yaml
    merge_strategy: replace
merge_strategies:
  "config/*.yaml":
    database: preserve_user
    cache: preserve_user
  config/app.yaml:
    api: {strategy: merge_smart, preserve_keys: [key]}
    cache: replace
`;

const shipped = (pool: number, timeout: number, ttl: number) =>
  `database:\n  host: localhost\n  pool: ${pool}\napi:\n  key: CHANGE_ME\n  timeout: ${timeout}\ncache:\n  ttl: ${ttl}\n`;

describe("merge_strategies of a path and of the pattern it matched", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("both act: the pattern's sections protect what the path's entry does not name", async () => {
    const v1 = await app.release("v1", manifest("1.0.0"), { "config/app.yaml": shipped(5, 10, 60) });
    const checked = await runShip(["--test-manifest", join(v1, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect((await runShip(["--config", app.config])).code).toBe(0);

    const file = join(app.appDir, "config/app.yaml");
    await writeFile(
      file,
      "database:\n  host: db.internal\n  pool: 5\napi:\n  key: s3cret\n  timeout: 99\ncache:\n  ttl: 5\n",
    );
    await app.release("v2", manifest("2.0.0"), { "config/app.yaml": shipped(10, 30, 120) });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(parse(await readFile(file, "utf8"))).toEqual({
      // The pattern's `database: preserve_user`: the user's host stays, the new default arrives.
      database: { host: "db.internal", pool: 10 },
      // The path's `api`: merge_smart keeping the key.
      api: { key: "s3cret", timeout: 30 },
      // Both name `cache`: the path's entry (replace) wins.
      cache: { ttl: 120 },
    });
  });
});
