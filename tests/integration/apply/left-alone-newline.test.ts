/**
 * A release file whose name holds a line break ("a\nb.txt"), edited by hand after the update: the
 * restore leaves it alone and says so. The name split "left alone: a" and "b.txt (not the file ship
 * installed)" over two lines, the second looking like a line of its own, and the automatic
 * rollback's one-line message (and its last_error) broke in two. Now the name is JSON-quoted.
 * Real `ship` processes.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { listedBackups } from "./installed-versions.js";

const NAME = "a\nb.txt";

describe("a left-alone path with a line break in its name (real CLI)", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
    await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n", [NAME]: "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("--rollback names it on one line, quoted", async () => {
    await app.release("r2", `version: "2.0.0"\n`, { "app.txt": "v2\n", [NAME]: "v2\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, NAME), "edited by hand\n");
    const [newest] = await listedBackups(app);
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain('  left alone: "a\\nb.txt" (not the file ship installed)\n');
    expect(back.stdout).not.toMatch(/^b\.txt/m);
    expect(await readFile(join(app.appDir, NAME), "utf8")).toBe("edited by hand\n");
  });

  it("the automatic rollback's one line and last_error: the same", async () => {
    // The post_update hook edits the file (as a person might meanwhile); the test then fails.
    await app.release(
      "r2",
      `version: "2.0.0"\nhooks:\n  post_update:\n    - "printf 'edited\\\\n' > \\"$(printf 'a\\\\nb.txt')\\""\npost_update_tests:\n  - name: health\n    command: "false"\n`,
      { "app.txt": "v2\n", [NAME]: "v2\n" },
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(await readFile(join(app.appDir, NAME), "utf8")).toBe("edited\n");
    const line = run.stdout.split("\n").find((l) => l.includes("except 1 path(s)")) ?? "";
    expect(line, run.stdout).toContain(
      '("a\\nb.txt": changed, replaced or behind a symlink since the update)',
    );
    const state = (await app.state()).sources.myapp;
    expect(String(state?.last_error)).not.toContain("\n");
  });
});
