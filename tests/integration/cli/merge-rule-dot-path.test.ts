/**
 * A `files` pattern written with a "./" (`./config.yaml: merge_yaml`) matched no file: the rule was
 * valid to --test-manifest and every run replaced the operator's config whole. It is refused,
 * naming the pattern to write.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const manifest = (version: string, key: string) =>
  `version: "${version}"\nfiles:\n  ${key}: {action: merge_yaml}\n`;

describe('a files pattern with a "." segment', () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it.each([
    ["./config.yaml", "config.yaml"],
    ["conf/./*.yaml", "conf/*.yaml"],
  ])("%s is refused by --test-manifest, naming %s", async (key, meant) => {
    const dir = await app.release("v1", manifest("1.0.0", key));
    const checked = await runShip(["--test-manifest", join(dir, "update-manifest.yaml")]);
    expect(checked.code).toBe(2);
    expect(checked.stdout + checked.stderr).toContain(
      `update-manifest.yaml:3:3 files.${JSON.stringify(key)}: patterns match paths without "." segments; write "${meant}"`,
    );
  });

  it("a run refuses it before anything changes: the operator's config is not replaced", async () => {
    await app.release("v1", manifest("1.0.0", "config.yaml"), { "config.yaml": "a: 1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "config.yaml"), "a: mine\n");
    await app.release("v2", manifest("2.0.0", "./config.yaml"), { "config.yaml": "a: 1\nb: 2\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.code).toBe(2);
    expect(await readFile(join(app.appDir, "config.yaml"), "utf8")).toBe("a: mine\n");
  });
});
