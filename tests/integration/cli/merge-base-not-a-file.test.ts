/**
 * ship's copy of a merged config as the previous release shipped it (`<state>/apps/<app>/base/<sha256>`,
 * the three-way merge's base) with something else in its place: a FIFO made the update wait for a
 * writer for ever, a directory failed it with a bare "EISDIR". It is read by the rule for ship's own
 * records: `<copy> is damaged, it is not a file: ship's copy of settings.yaml …`, exit 2, one line,
 * before the hooks, the app and its state untouched; under `merge_strategy: replace` too (the merge
 * reads the copy for its report). Real CLI runs.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

/** ship's base copies of the app (one per merged file). */
async function baseCopies(): Promise<string[]> {
  const apps = join(app.root, "var", "apps");
  const [appState = ""] = await readdir(apps);
  const dir = join(apps, appState, "base");
  return (await readdir(dir)).map((name) => join(dir, name));
}

const manifest = (version: string, strategy: string, marker: string) =>
  `version: "${version}"\nfiles:\n  settings.yaml:\n    action: merge_yaml\n    merge_strategy: ${strategy}\nhooks:\n  pre_update:\n    - "echo pre >> ${marker}"\n`;

describe("the merge's base copy is not a file (real CLI)", () => {
  for (const strategy of ["preserve_user", "replace"]) {
    for (const kind of ["FIFO", "directory"] as const) {
      it(`${kind}, merge_strategy ${strategy}: exit 2 naming ship's copy, before the hooks, nothing changed`, async () => {
        const marker = join(app.root, "hooks.log");
        await app.release("r1", manifest("1.0.0", strategy, marker), {
          "settings.yaml": "a: 1\nb: 2\n",
          "app.txt": "v1\n",
        });
        const first = await runShip(["--config", app.config]);
        expect(first.code, first.stderr).toBe(0);
        const [copy] = await baseCopies();
        if (copy === undefined) throw new Error("no base copy");
        await rm(copy);
        if (kind === "FIFO") execFileSync("mkfifo", [copy]);
        else await mkdir(copy);
        await rm(marker, { force: true });
        await app.release("r2", manifest("2.0.0", strategy, marker), {
          "settings.yaml": "a: 1\nb: 3\n",
          "app.txt": "v2\n",
        });
        const run = await runShip(["--config", app.config], { timeoutMs: 20_000 });
        expect(run.code, run.stdout + run.stderr).toBe(2);
        // The run's outcome: one line on stdout (the log is on stderr).
        const lines = run.stdout.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(
          `${copy} is damaged, it is not a file: ship's copy of settings.yaml as a release shipped it, not yours: delete it and the merge goes on without it`,
        );
        expect(run.stdout + run.stderr).not.toMatch(/EISDIR|internal error/);
        expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
        expect(await readFile(join(app.appDir, "settings.yaml"), "utf8")).toBe("a: 1\nb: 2\n");
        await expect(readFile(marker, "utf8")).rejects.toThrow();
        expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");

        // The way out the message gives: without the copy the merge goes on.
        await rm(copy, { recursive: true });
        const after = await runShip(["--config", app.config]);
        expect(after.code, after.stderr).toBe(0);
        expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
      }, 60_000);
    }
  }
});
