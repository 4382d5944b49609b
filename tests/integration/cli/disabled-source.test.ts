/**
 * `enabled = false` in a timer run, and `--sources NAME` naming that source: a plain run leaves it
 * alone (and says so), naming it runs it on purpose (README, CLI). Both halves, as an operator sees them.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp("enabled = false\n");
  await app.release("r2", 'version: "2.0.0"\n');
});
afterEach(() => app.cleanup());

it("a plain run and --check-only leave a disabled source alone; --sources NAME runs it", async () => {
  const plain = await runShip(["--config", app.config]);
  expect(plain.code, plain.stderr).toBe(0);
  expect(plain.stderr).toContain("source myapp is disabled (enabled = false)");
  expect(plain.stdout).toContain("no sources to run");
  await expect(readFile(join(app.appDir, "app.txt"), "utf8")).rejects.toThrow();

  const check = await runShip(["--config", app.config, "--check-only", "--sources", "myapp"]);
  expect(check.code, check.stderr).toBe(100);

  const named = await runShip(["--config", app.config, "--sources", "myapp"]);
  expect(named.code, named.stderr).toBe(0);
  expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("r2\n");
  expect((await app.state()).sources.myapp).toMatchObject({ current_version: "2.0.0" });
  // The README says so where the options are explained.
  const readme = await readFile("README.md", "utf8");
  expect(readme).toContain("`--sources NAME` takes exactly the\nsources named, **a disabled one included**");
});
