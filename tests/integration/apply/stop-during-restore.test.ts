/**
 * A stop (SIGTERM from `systemctl stop` or a shutdown, SIGINT from Ctrl-C) while `ship --rollback`
 * or `ship --recover` restores: real `ship` child processes, signalled while a rollback hook runs.
 * Node's default handler killed them there: a chained rollback was left on a version in between
 * with the state naming the undone one, and --recover left the app it was restoring to the next run.
 */
import { access, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip, startShip } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { installVersions } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
const waitForFile = (path: string) =>
  waitFor(path, () => exists(path), { timeoutMs: 30_000, intervalMs: 20, where: dirname(path) });

/**
 * Shell that waits (60 s at most) until the test has signalled ship and written `marks`/go. A
 * fixed `sleep 2` was the window for the signal: a loaded CI machine can miss it.
 */
const untilGo = (marks: string) => `for i in $(seq 1200); do [ -e ${marks}/go ] && break; sleep 0.05; done`;

/** A manifest whose rollback hook says it started, waits for the test's go, then says it finished. */
const slowRollback = (version: string, marks: string) =>
  `version: "${version}"\nhooks:\n  rollback:\n    - command: "touch ${marks}/undo-${version}-started; ${untilGo(marks)}; touch ${marks}/undo-${version}-done"\n`;

/** Signals `child`, then lets the hooks waiting under `marks` end. */
const signalThenGo = async (
  child: { kill(signal: NodeJS.Signals): boolean },
  signal: NodeJS.Signals,
  marks: string,
) => {
  child.kill(signal);
  await writeFile(join(marks, "go"), "");
};

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

describe.skipIf(process.platform !== "linux")("a stop during a restore (real CLI, real signals)", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`ship --rollback across two backups finishes on ${signal}: the target version, the state, nothing left to recover`, async () => {
      let onOne: Awaited<ReturnType<typeof snapshot>> | undefined;
      for (const v of ["1", "2", "3"]) {
        await app.release(`r${v}`, slowRollback(`${v}.0.0`, app.root), {
          "app.txt": `v${v}\n`,
          [`f${v}.txt`]: `${v}\n`,
        });
        expect((await runShip(["--config", app.config])).code).toBe(0);
        if (v === "1") onOne = await snapshot(app.appDir);
      }
      const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
      const target = (JSON.parse(listed.stdout) as { id: string; version: string | null }[]).find(
        (b) => b.version === "1.0.0",
      );

      const run = startShip(["--config", app.config, "--rollback", String(target?.id)]);
      // 3.0.0's files are out and its rollback hook runs; 2.0.0 is still to be undone.
      await waitForFile(join(app.root, "undo-3.0.0-started"));
      await signalThenGo(run.child, signal, app.root);
      const result = await run.done;

      expect(result.signal, result.stderr).toBeNull();
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("myapp: back on 1.0.0 (2 backup(s) restored)");
      expect(result.stderr).toContain(`${signal} received during the rollback: it was finished first`);
      expect(await exists(join(app.root, "undo-3.0.0-done"))).toBe(true);
      expect(await exists(join(app.root, "undo-2.0.0-done"))).toBe(true);
      expect(await snapshot(app.appDir)).toEqual(onOne);
      const state = (await app.state()).sources.myapp;
      expect(state?.current_version).toBe("1.0.0");
      expect(state?.last_result).toBe("rolled_back");
      const next = await runShip(["--config", app.config, "--recover"]);
      expect(next.code).toBe(0);
      expect(next.stdout).toBe("myapp: nothing to recover\n");
      expect(await snapshot(app.appDir)).toEqual(onOne);
    }, 60_000);
  }

  it("ship --rollback that fails after a SIGTERM says the signal came, and that the failure is not its doing", async () => {
    const started = join(app.root, "undo-3.0.0-started");
    await installVersions(app, ["1", "2"]);
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const [two] = JSON.parse(listed.stdout) as { id: string; path: string; version: string | null }[];
    expect(two?.version).toBe("1.0.0");
    // 3.0.0's rollback hook, run once its files are out, takes away a file the next restore needs
    // (someone freeing disk meanwhile): that restore is refused, after the signal.
    await app.release(
      "r3",
      `version: "3.0.0"\nhooks:\n  rollback:\n    - command: "touch ${started}; ${untilGo(app.root)}; rm ${two?.path}/files/app.txt"\n`,
      { "app.txt": "v3\n", "f3.txt": "3\n" },
    );
    expect((await runShip(["--config", app.config])).code).toBe(0);

    const run = startShip(["--config", app.config, "--rollback", String(two?.id)]);
    await waitForFile(started);
    await signalThenGo(run.child, "SIGTERM", app.root);
    const result = await run.done;

    expect(result.signal, result.stderr).toBeNull();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(
      "SIGTERM received during the rollback: it did not stop it; the rollback failed on its own (below)",
    );
    expect(result.stderr).toContain("app.txt");
    expect(result.stderr).not.toContain("it was finished first");
  }, 60_000);

  it("ship --recover finishes the app it is restoring, starts no other, exits 143; a second --recover does the rest", async () => {
    // Two apps, each with an update to 2.0.0 killed after its apply (before its health checks):
    // recovery restores 1.0.0 and runs 2.0.0's rollback hook.
    const names = ["first", "second"];
    const release = async (name: string, version: string) => {
      const dir = join(app.root, `${name}-${version}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "update-manifest.yaml"), slowRollback(version, join(app.root, name)));
      await writeFile(join(dir, "app.txt"), `${name} ${version}\n`);
      return dir;
    };
    const configFor = async (version: string) => {
      let toml = `[general]\nstate_file = "${app.root}/var/state.json"\nbackup_dir = "${app.root}/var/backups"\nmin_interval_hours = 0\n`;
      for (const name of names) {
        await mkdir(join(app.root, name), { recursive: true });
        await mkdir(join(app.root, `app-${name}`), { recursive: true });
        toml += `\n[sources.${name}]\ntype = "local"\npath = "${await release(name, version)}"\napp_dir = "${app.root}/app-${name}"\n`;
      }
      await writeFile(app.config, toml);
    };
    await configFor("1.0.0");
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const before = {
      first: await snapshot(join(app.root, "app-first")),
      second: await snapshot(join(app.root, "app-second")),
    };
    await configFor("2.0.0");
    for (const name of names) {
      const killed = await runShip(["--config", app.config, "--sources", name], {
        env: { SHIP_FAULT: "pipeline:before:tests" },
      });
      expect(killed.code).toBeNull();
    }

    const run = startShip(["--config", app.config, "--recover"]);
    await waitForFile(join(app.root, "first", "undo-2.0.0-started"));
    await signalThenGo(run.child, "SIGTERM", join(app.root, "first"));
    const result = await run.done;

    expect(result.signal, result.stderr).toBeNull();
    expect(result.code, result.stderr).toBe(143);
    expect(result.stdout).toContain("first: ");
    expect(result.stderr).toContain("stopped by SIGTERM: not recovered: second");
    expect(await exists(join(app.root, "first", "undo-2.0.0-done"))).toBe(true);
    expect(await snapshot(join(app.root, "app-first"))).toEqual(before.first);
    expect(await exists(join(app.root, "second", "undo-2.0.0-started"))).toBe(false);

    // Stopped during the last app's recovery, it leaves nothing behind and exits as the recovery
    // did, and says the signal came (it said nothing: the stop seemed ignored).
    const again = startShip(["--config", app.config, "--recover"]);
    await waitForFile(join(app.root, "second", "undo-2.0.0-started"));
    await signalThenGo(again.child, "SIGTERM", join(app.root, "second"));
    const last = await again.done;
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toContain("first: nothing to recover");
    expect(last.stderr).toContain("SIGTERM received during the recovery: it was finished first");
    expect(last.stderr).not.toContain("not recovered");
    expect(await exists(join(app.root, "second", "undo-2.0.0-done"))).toBe(true);
    expect(await snapshot(join(app.root, "app-second"))).toEqual(before.second);
    const state = await app.state();
    expect(state.sources.first?.current_version).toBe("1.0.0");
    expect(state.sources.second?.current_version).toBe("1.0.0");
  }, 90_000);
});
