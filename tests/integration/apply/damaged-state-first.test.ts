/**
 * A damaged state file (a write cut short, a hand edit) is bad input: exit 2, which says nothing
 * changed. Real `ship` runs. `--rollback` read it only once every file was back: it restored 1.0.0,
 * ran the hooks, then printed only the state file's error with exit 2. A run and `--recover` finished
 * a killed update's journal (undoing its files) before they found it. Now each reads it first.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";
import { installedVersionsForFile } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;

installedVersionsForFile(["1", "2"], (made) => {
  app = made;
});

const damage = async () => {
  const intact = await readFile(app.stateFile, "utf8");
  await writeFile(app.stateFile, intact.slice(0, 60));
  return () => writeFile(app.stateFile, intact);
};
const line = () => `${app.stateFile} is damaged, it is not valid JSON`;

describe("a damaged state file says what to do (real CLI)", () => {
  it("names the file and the key, what it is and the way out; moved aside, the next run writes it again", async () => {
    const intact = await readFile(app.stateFile, "utf8");
    await writeFile(app.stateFile, intact.replace('"current_version": "2.0.0"', '"current_version": 2'));
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    // Was "… sources.myapp.current_version: Invalid input: expected string, received number" alone,
    // though the README promises every damaged record's line says what to do.
    expect(run.stdout + run.stderr).toContain(
      `${app.stateFile} is damaged, sources.myapp.current_version: Invalid input: expected string, received number: ship's record of each source's installed version and last result; put it right, or move it aside and the next run writes it again from what ship installed (the last results and the record of an update interrupted before its checks are lost)\n`,
    );
    await rename(app.stateFile, `${app.stateFile}.damaged`);
    const again = await runShip(["--config", app.config]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toBe("myapp: up to date (2.0.0)\n");
    expect((await app.state()).sources.myapp).toMatchObject({ current_version: "2.0.0" });
  });
});

describe("a damaged state file is found before anything moves (real CLI)", () => {
  it("--rollback: exit 2, the app untouched; once put right the rollback works", async () => {
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const [newest] = JSON.parse(listed.stdout) as { id: string }[];
    const repair = await damage();
    const before = await snapshot(app.appDir);

    const refused = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain(line());
    expect(await snapshot(app.appDir)).toEqual(before);

    await repair();
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });

  it("a run and --recover over a killed update: exit 2, the half-applied app left for recovery once it is put right", async () => {
    await app.release("r3", `version: "3.0.0"\n`, { "app.txt": "v3\n", "f3.txt": "3\n", "g3.txt": "3\n" });
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "apply:file@2" } });
    expect(killed.code).toBeNull();
    const repair = await damage();
    const before = await snapshot(app.appDir);

    for (const args of [[], ["--recover"]]) {
      const run = await runShip(["--config", app.config, ...args]);
      expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(2);
      expect(run.stdout + run.stderr).toContain(line());
      expect(await snapshot(app.appDir)).toEqual(before);
    }

    await repair();
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
  });
});
