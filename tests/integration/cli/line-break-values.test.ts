/**
 * A refusal is one line even when the value it names holds a line break: `ship --config $'x\ny'`,
 * `--sources` and `--test-manifest` said the value raw, so its line broke in two and a
 * log or a script reading stderr's first line got half a message. The value is said with `\n` —
 * also where the refusal's words, not its file or key, hold it (`--app-dir`, a ship.toml path
 * written with `\n`, `ship-hub serve --db`), which still broke in two.
 */
import { readdir, writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HUB_BIN } from "../../support/hub-cli.js";
import { runNodeScript, runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  await app.release("r2", 'version: "2.0.0"\n');
});
afterEach(async () => app.cleanup());

describe("a value with a line break is refused on one line (real CLI)", () => {
  it.each([
    ["--config", (_config: string) => ["--config", "x\ny"]],
    ["--sources", (config: string) => ["--config", config, "--sources", "x\ny"]],
    ["--test-manifest", (config: string) => ["--config", config, "--test-manifest", "x\ny"]],
    ["--app-dir", () => ["--app-dir", "x\ny", "--test-conditionals", `${app.root}/r2/update-manifest.yaml`]],
    ["a ship.toml path", (config: string) => ["--config", `${config}.nl`, "--force"]],
  ])("%s", async (_flag, args) => {
    await writeFile(
      `${app.config}.nl`,
      `[sources.myapp]\ntype = "local"\npath = "/x\\ny"\napp_dir = "${app.appDir}"\n`,
    );
    const before = await readdir(app.root);
    const run = await runShip(args(app.config), { cwd: app.root });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trimEnd().split("\n"), run.stderr).toHaveLength(1);
    expect(run.stderr).toContain("x\\ny");
    expect(await readdir(app.root)).toEqual(before);
  });
});

it("ship-hub: --db with a line break, refused on one line", async () => {
  const run = await runNodeScript(HUB_BIN, ["serve", "--db", "/nonexistent/x\ny", "--port", "0"], {
    timeoutMs: 20_000,
  });
  expect(run.stderr).toBe("ship-hub: --db the directory of /nonexistent/x\\ny does not exist\n");
  expect(run.code).toBe(2);
});
