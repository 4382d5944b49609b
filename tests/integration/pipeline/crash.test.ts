import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recover } from "../../../agent/pipeline/index.js";
import { memoryLogger } from "../../../shared/log.js";
import { startShip } from "../../support/ship-cli.js";
import { createSandbox, hashTree, type Sandbox, writeTree } from "./harness.js";

async function countLines(file: string): Promise<number> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.split("\n").filter((l) => l !== "").length;
}

/**
 * `ship --force` on the sandbox's app with release `releaseDir`, as the real CLI, armed to SIGKILL
 * itself at `fault` (SHIP_FAULT; empty: a hook or migration kills it). The config is the one
 * box.config gives the in-process runs and recover, as ship.toml.
 */
async function killedRun(
  box: Sandbox,
  releaseDir: string,
  fault: string,
): Promise<{ signal: NodeJS.Signals | null; said: string }> {
  const config = join(box.root, "ship.toml");
  const { general, sources } = box.config(releaseDir);
  const source = sources.myapp;
  if (source?.type !== "local") throw new Error("the sandbox's source is not a local one");
  await writeFile(
    config,
    `[general]\nstate_file = "${general.state_file}"\nbackup_dir = "${general.backup_dir}"\nwork_dir = "${general.work_dir}"\n\n` +
      `[sources.myapp]\ntype = "local"\npath = "${source.path}"\napp_dir = "${source.app_dir}"\n`,
  );
  const { code, signal, stdout, stderr } = await startShip(["--config", config, "--force"], {
    env: { SHIP_FAULT: fault },
  }).done;
  return { signal, said: `exit ${code}: ${stdout}${stderr}` };
}

/**
 * Never a mixed tree: a run SIGKILLed at each step boundary and in the middle of the apply or of a
 * restore leaves the app, after recovery, byte for byte either v1 or v2, user data untouched.
 */
describe("a run killed with SIGKILL", () => {
  let box: Sandbox;
  let oldTree: Record<string, string>;
  let newTree: Record<string, string>;
  const v2Files = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`src/m${i}.py`, `v2 ${i}\n`]));

  beforeAll(async () => {
    box = await createSandbox();
    const v1Files = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`src/m${i}.py`, `v1 ${i}\n`]));
    const v1 = await box.release("v1", v1Files, {
      version: "1.0.0",
      directories: { data: { preserve: true } },
    });
    expect((await box.run(v1)).exitCode).toBe(0);
    await writeTree(box.appDir, { "data/user.db": "precious\n" });
    oldTree = await hashTree(box.appDir);
    newTree = { ...oldTree };
    for (const [rel, content] of Object.entries(v2Files)) {
      newTree[rel] = createHash("sha256").update(content).digest("hex");
    }
  });
  afterAll(async () => {
    await box.cleanup();
  });

  // Every step boundary after the pre_update hooks (the pending_update record is written by then),
  // plus mid-apply, committed but not returned, and mid-restore. Engine-internal points are covered
  // by the apply engine's own crash tests.
  const points = [
    "pipeline:before:apply",
    "apply:file@7",
    "apply:committed",
    "pipeline:before:migrations",
    "pipeline:before:hooks@2",
    "pipeline:before:tests",
    "restore:file@5",
  ];
  for (const point of points) {
    it(`at ${point}`, async () => {
      const rollbackLog = join(box.root, "rollback.log");
      // A failing health check makes every run go through restore, so restore:file is reached too.
      const v2 = await box.release(`v2-${point}`, v2Files, {
        version: "2.0.0",
        directories: { data: { preserve: true } },
        hooks: { rollback: [`echo rolled-back >> ${rollbackLog}`] },
        post_update_tests: [{ name: "health", command: "exit 1" }],
      });
      const killed = await killedRun(box, v2, point);
      expect(killed.signal, killed.said).toBe("SIGKILL");
      // The record names the update, not its rollback commands: a command line may carry a secret,
      // and the state file is 640 (the recovery reads them from the manifest kept with mode 600).
      const state = await readFile(box.stateFile, "utf8");
      expect(state).toContain('"pending_update"');
      expect(state).not.toContain("rolled-back");

      const hooksBefore = await countLines(rollbackLog);
      const recovered = await recover(box.config(v2), memoryLogger());
      expect(recovered.exitCode).toBe(0);
      expect(recovered.apps[0]?.detail).toContain("update to 2.0.0 was interrupted");
      expect(await countLines(rollbackLog)).toBe(hooksBefore + 1);
      const tree = await hashTree(box.appDir);
      expect([oldTree, newTree]).toContainEqual(tree);
      expect(tree["data/user.db"]).toBe(oldTree["data/user.db"]);

      // The next run finishes the job: the failing health check rolls back to v1 again.
      const next = await box.run(v2);
      expect(next.exitCode).toBe(1);
      expect(await hashTree(box.appDir)).toEqual(oldTree);
    });
  }

  // Killed in or after the pre_update hooks (the record of the update is written) but before the
  // apply: the recovery put no file back, so its line must not say it "restored 1.0.0"; the rollback
  // hooks still run (they restart what pre_update stopped).
  {
    const point = "pipeline:before:apply";
    it(`at ${point}, says the app's files were not changed`, async () => {
      const rollbackLog = join(box.root, "rollback.log");
      const v2 = await box.release(`v2-unchanged-${point}`, v2Files, {
        version: "2.0.0",
        directories: { data: { preserve: true } },
        hooks: { rollback: [`echo rolled-back >> ${rollbackLog}`] },
      });
      const killed = await killedRun(box, v2, point);
      expect(killed.signal, killed.said).toBe("SIGKILL");
      const hooksBefore = await countLines(rollbackLog);
      const recovered = await recover(box.config(v2), memoryLogger());
      expect(recovered.exitCode).toBe(0);
      expect(recovered.apps[0]?.detail).toBe(
        "update to 2.0.0 was interrupted; the app's files were not changed (1.0.0 stays)",
      );
      expect(await countLines(rollbackLog)).toBe(hooksBefore + 1);
      expect(await hashTree(box.appDir)).toEqual(oldTree);
    });
  }

  // A record written by a ship before the rollback commands moved out of the state file names them
  // itself: the recovery runs those, as that ship would have.
  it("with a record that names its rollback commands (an older ship's), runs those", async () => {
    const rollbackLog = join(box.root, "rollback.log");
    const legacyLog = join(box.root, "legacy-rollback.log");
    const v2 = await box.release("v2-legacy-record", v2Files, {
      version: "2.0.0",
      directories: { data: { preserve: true } },
      hooks: { rollback: [`echo rolled-back >> ${rollbackLog}`] },
    });
    const killed = await killedRun(box, v2, "pipeline:before:tests");
    expect(killed.signal, killed.said).toBe("SIGKILL");
    const state = JSON.parse(await readFile(box.stateFile, "utf8"));
    for (const source of Object.values(state.sources) as { pending_update?: Record<string, unknown> }[])
      if (source.pending_update !== undefined)
        source.pending_update.rollback_commands = [`echo legacy >> ${legacyLog}`];
    await writeFile(box.stateFile, JSON.stringify(state));
    const hooksBefore = await countLines(rollbackLog);
    const recovered = await recover(box.config(v2), memoryLogger());
    expect(recovered.exitCode).toBe(0);
    expect(await countLines(legacyLog)).toBe(1);
    expect(await countLines(rollbackLog)).toBe(hooksBefore);
    expect(await hashTree(box.appDir)).toEqual(oldTree);
  });

  // Killed before the apply made a backup (the backup's manifest was where the recovery found the
  // release's on_failure): the interrupted update is still reported to on_failure. A kill inside a
  // pre_update hook (the hook kills ship) and one after the hooks, before the apply.
  const beforeBackup: { label: string; fault: string; preUpdate: string[] }[] = [
    { label: "in a pre_update hook", fault: "", preUpdate: ["kill -9 $PPID; sleep 5"] },
    { label: "at pipeline:before:apply", fault: "pipeline:before:apply", preUpdate: [] },
  ];
  for (const { label, fault, preUpdate } of beforeBackup) {
    it(`${label}, the recovery sends the release's on_failure`, async () => {
      const v2 = await box.release(`v2-notify-${label.replace(/[^a-z]+/g, "-")}`, v2Files, {
        version: "2.0.0",
        directories: { data: { preserve: true } },
        hooks: { pre_update: preUpdate },
        notifications: { on_failure: [{ type: "log", message: "FAILED {version}: {error}" }] },
      });
      const killed = await killedRun(box, v2, fault);
      expect(killed.signal, killed.said).toBe("SIGKILL");
      const lines: { level: string; msg: string }[] = [];
      const recovered = await recover(box.config(v2), memoryLogger(lines));
      expect(recovered.exitCode).toBe(0);
      expect(lines.filter((l) => l.msg.startsWith("FAILED")).map((l) => l.msg)).toEqual([
        "FAILED 2.0.0: update to 2.0.0 was interrupted; the app's files were not changed (1.0.0 stays)",
      ]);
      expect(await hashTree(box.appDir)).toEqual(oldTree);
    });
  }

  // The restore puts back files, not what the migrations did: a recovery names those the killed run
  // had run, as the run itself would have, and its on_failure says it too.
  it("in a migration, the recovery names the migrations that had run", async () => {
    const v2 = await box.release("v2-killed-in-migration", v2Files, {
      version: "2.0.0",
      directories: { data: { preserve: true } },
      migrations: { "1.5.0": ["true"], "2.0.0": ["true", "kill -9 $PPID; sleep 5"] },
      notifications: { on_failure: [{ type: "log", message: "FAILED {version}: {error}" }] },
    });
    const killed = await killedRun(box, v2, "");
    expect(killed.signal, killed.said).toBe("SIGKILL");
    const lines: { level: string; msg: string }[] = [];
    const recovered = await recover(box.config(v2), memoryLogger(lines));
    expect(recovered.exitCode).toBe(0);
    const note = "migrations 1.5.0, 2.0.0[0] ran before the failure: restoring the files does not undo";
    expect(recovered.apps[0]?.detail).toContain("update to 2.0.0 was interrupted; restored 1.0.0");
    expect(recovered.apps[0]?.detail).toContain(note);
    expect(lines.find((l) => l.msg.startsWith("FAILED"))?.msg).toContain(note);
    expect(await hashTree(box.appDir)).toEqual(oldTree);
  });

  // Before the pre_update hooks nothing on the app has been touched: a kill there must leave v1
  // exactly, and need no rollback hooks.
  for (const point of ["fetch", "verify", "conditionals", "requirements"].map(
    (k) => `pipeline:before:${k}`,
  )) {
    it(`at ${point}`, async () => {
      const v2 = await box.release(`v2-${point}`, v2Files, {
        version: "2.0.0",
        directories: { data: { preserve: true } },
      });
      const killed = await killedRun(box, v2, point);
      expect(killed.signal, killed.said).toBe("SIGKILL");
      const recovered = await recover(box.config(v2), memoryLogger());
      expect(recovered.exitCode).toBe(0);
      expect(recovered.apps[0]?.detail).toBe("nothing to recover");
      expect(await hashTree(box.appDir)).toEqual(oldTree);
    });
  }
});
