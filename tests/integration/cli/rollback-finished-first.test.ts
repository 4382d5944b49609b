/**
 * A `ship --rollback` SIGKILLed half-way is finished by the next run, which then goes on to its own
 * outcome. That run said only its own ("myapp: updated 1.0.0 → 2.0.0"): the finished rollback, and
 * the rollback commands it ran for it, were in ship.log alone. Its line, its --json and `--recover`
 * say them now. Real `ship` processes on a local source.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { writeTree } from "../apply/tree-fixtures.js";

let root: string;
let config: string;
let marker: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-finished-first-"));
  config = join(root, "ship.toml");
  marker = join(root, "undone.log");
  await mkdir(join(root, "app"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function install(name: string, version: string): Promise<void> {
  const dir = join(root, name);
  const hooks = `hooks:\n  rollback:\n    - echo undo-$SHIP_VERSION >> ${marker}\n`;
  await writeTree(dir, { "app.py": `${name}\n`, "update-manifest.yaml": `version: "${version}"\n${hooks}` });
  await writeFile(
    config,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${root}/app"\n`,
  );
  expect((await runShip(["--config", config])).code).toBe(0);
}

/** v1 then v2 installed, then `--rollback` to v1 killed at `fault`. */
async function killedRollback(fault: string): Promise<void> {
  await install("r1", "1.0.0");
  await install("r2", "2.0.0");
  const listed = JSON.parse((await runShip(["--config", config, "--list-backups", "--json"])).stdout) as {
    id: string;
    version: string | null;
  }[];
  const toV1 = listed.find((b) => b.version === "1.0.0")?.id ?? "";
  const killed = await runShip(["--config", config, "--rollback", toV1], { env: { SHIP_FAULT: fault } });
  expect(killed.code, killed.stderr).toBeNull();
}

const ranHook =
  "finished the interrupted rollback to 1.0.0; ran 2.0.0's rollback commands it had not started";

describe("a killed ship --rollback, finished by the next run", () => {
  for (const [fault, finished] of [
    // Killed mid-restore: the restore's journal is finished, then 2.0.0's rollback hook it owed runs.
    ["restore:file@1", `restored 1.0.0 (finished an interrupted restore); ${ranHook}`],
    // Killed after the restore, before the hook.
    ["rollback:before-hooks", ranHook],
  ] as const) {
    it(`${fault}: the next timer run's line and --json say what it finished before updating`, async () => {
      await killedRollback(fault);
      const run = await runShip(["--config", config, "--json"]);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as { apps: { message: string; finishedFirst?: string }[] };
      expect(report.apps[0]).toMatchObject({
        message: `myapp: ${finished}; then updated 1.0.0 → 2.0.0`,
        finishedFirst: finished,
      });
      expect(await readFile(marker, "utf8")).toBe("undo-2.0.0\n");
      expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("r2\n");
      const next = await runShip(["--config", config]);
      expect(next.stdout).toBe("myapp: up to date (2.0.0)\n");
    });
  }

  it("--recover after a kill mid-restore says it ran the rollback commands it owed", async () => {
    await killedRollback("restore:file@1");
    const recovered = await runShip(["--config", config, "--recover"]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stdout).toBe(`myapp: restored 1.0.0 (finished an interrupted restore); ${ranHook}\n`);
    expect(await readFile(marker, "utf8")).toBe("undo-2.0.0\n");
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("r1\n");
  });
});
