import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp, logAt } from "./local-app.js";

/**
 * `[general.logging] level` takes the seed's (Python's logging) level names, and Python takes WARN,
 * FATAL and NOTSET as well as WARNING, CRITICAL and DEBUG: a seed ship.toml with level = "WARN" was
 * exit 2 ("unknown log level"), so no update ran on such a host until someone edited it.
 */
describe("ship run: Python's other level names in [general.logging] level", () => {
  let app: LocalApp | undefined;
  afterEach(async () => {
    await app?.cleanup();
    app = undefined;
  });

  async function runWithLevel(
    level: string,
  ): Promise<{ code: number | null; stderr: string; levels: number[] }> {
    app = await localApp();
    await app.release(
      "r1",
      'version: "1.0.0"\nconditionals:\n  - condition: "1 == 1"\n    action: warn\n    message: "heads up"\n',
    );
    const readLog = await logAt(app, level);
    const run = await runShip(["--config", app.config]);
    const levels = (await readLog()).map((line) => line.level);
    return { code: run.code, stderr: run.stderr, levels };
  }

  it.each([
    ["WARN", "WARNING", 40],
    ["warn", "WARNING", 40],
    ["FATAL", "CRITICAL", 50],
    ["NOTSET", "DEBUG", 20],
  ])("level = %s is %s: the run installs and logs from that level up", async (level, _as, lowest) => {
    const { code, stderr, levels } = await runWithLevel(level);
    expect(code, stderr).toBe(0);
    expect(stderr).not.toContain("unknown log level");
    if (lowest === 20) {
      // NOTSET logs everything: the debug lines are there.
      expect(levels).toContain(20);
    } else {
      expect(levels.length === 0 || Math.min(...levels) >= lowest).toBe(true);
      if (lowest === 40) expect(levels).toContain(40);
    }
  });

  it("a name Python does not know either is still exit 2 naming the key and every name taken, nothing installed", async () => {
    const { code, stderr } = await runWithLevel("verbose");
    expect(code).toBe(2);
    // As written, and the list with the names it also takes (it left out WARN, FATAL, NOTSET).
    expect(stderr).toMatch(
      /general\.logging\.level: unknown log level "verbose" \(expected DEBUG, INFO, WARNING, ERROR, CRITICAL, or Python's WARN, FATAL, NOTSET; any case\)$/m,
    );
    expect(await readFile(join(app?.appDir ?? "", "app.txt"), "utf8").catch(() => "absent")).toBe("absent");
  });
});
