import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

// The upstream project's full-manifest form: per-file rules nested under `sections`.
const manifest = (version: string) => `version: "${version}"
files:
  "config.toml":
    action: "merge_toml"
    merge_strategy: "preserve_user"
merge_strategies:
  config.toml:
    sections:
      database:
        strategy: preserve_user
      api:
        strategy: merge_smart
        preserve_keys: [api_key]
`;

const config = (pool: number, timeout: number) =>
  `[database]\nhost = "localhost"\npool = ${pool}\n\n[api]\napi_key = "CHANGE_ME"\ntimeout = ${timeout}\n`;

describe("merge_strategies with the upstream `sections:` form", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("is accepted by --test-manifest and acts in the merge: preserve_user for database, merge_smart keeping api_key", async () => {
    const v1 = await app.release("v1", manifest("1.0.0"), { "config.toml": config(5, 10) });
    const checked = await runShip(["--test-manifest", join(v1, "update-manifest.yaml")]);
    expect(checked.code, checked.stderr).toBe(0);
    expect((await runShip(["--config", app.config])).code).toBe(0);

    // The user sets their database host, their API key and a timeout of their own.
    await writeFile(
      join(app.appDir, "config.toml"),
      `[database]\nhost = "db.internal"\npool = 5\n\n[api]\napi_key = "s3cret"\ntimeout = 99\n`,
    );
    await app.release("v2", manifest("2.0.0"), { "config.toml": config(10, 30) });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    const merged = parse(await readFile(join(app.appDir, "config.toml"), "utf8"));
    expect(merged).toEqual({
      database: { host: "db.internal", pool: 10 },
      // merge_smart: the release's values win, except the preserved key.
      api: { api_key: "s3cret", timeout: 30 },
    });
  });

  it("a wrong shape is refused with the shape that is expected", async () => {
    const dir = await app.release(
      "bad",
      `version: "1.0.0"\nmerge_strategies:\n  config.toml: preserve_user\n`,
    );
    const checked = await runShip(["--test-manifest", join(dir, "update-manifest.yaml")]);
    expect(checked.code).toBe(2);
    expect(checked.stderr + checked.stdout).toContain(
      'merge_strategies."config.toml": must be a mapping of section → strategy',
    );
  });
});
