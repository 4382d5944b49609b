/**
 * Something other than a file where ship keeps a lock: a FIFO (a script's `mkfifo`) made every run
 * wait for a writer for ever (`ship`, `--rollback`, `ship agent`: the exclusive create met it, and
 * reading its holder opened it blocking), and a directory was a bare "EISDIR", exit 1. The lock is
 * read by the rule for ship's own records: `<lock> is damaged, it is not a file`, exit 2, one line,
 * the app untouched. The host's lock (shared with other configs) is best effort: a WARNING, and the
 * run goes on under its own lock. Real CLI runs.
 */
import { execFileSync } from "node:child_process";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appLockFile } from "../../../agent/lock/run-lock.js";
import { type CliResult, runAgentBriefly, runShip } from "../../support/ship-cli.js";
import { appTxtOnly, installedVersionsForFile, listedBackups } from "../apply/installed-versions.js";
import type { LocalApp } from "./local-app.js";

let app: LocalApp;

installedVersionsForFile(
  ["1", "2"],
  (made) => {
    app = made;
  },
  {
    files: appTxtOnly,
    extra: async (app) => {
      await app.release("r3", 'version: "3.0.0"\n', appTxtOnly("3"));
    },
  },
);

/** Puts `kind` at `path` (its directory made first). */
async function occupy(path: string, kind: "FIFO" | "directory"): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  if (kind === "FIFO") execFileSync("mkfifo", [path]);
  else await mkdir(path);
}

function expectRefused(run: CliResult, lock: string): void {
  expect(run.code, run.stdout + run.stderr).toBe(2);
  const lines = run.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`${lock} is damaged, it is not a file: ship's lock file`);
  expect(run.stderr).not.toMatch(/EISDIR|internal error/);
}

const kinds = ["FIFO", "directory"] as const;

describe("a lock path that is not a file (real CLI)", () => {
  for (const kind of kinds) {
    it(`the run's lock a ${kind}: exit 2 naming it, no hang, the app untouched`, async () => {
      const lock = join(app.root, "var", "ship.lock");
      await occupy(lock, kind);
      const run = await runShip(["--config", app.config], { timeoutMs: 20_000 });
      expectRefused(run, lock);
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    }, 60_000);

    it(`the app's lock a ${kind}: the update and --rollback exit 2 naming it, the app untouched`, async () => {
      const lock = appLockFile(join(app.root, "var", "locks"), app.appDir);
      await occupy(lock, kind);
      const run = await runShip(["--config", app.config], { timeoutMs: 20_000 });
      expectRefused(run, lock);
      const [newest] = await listedBackups(app);
      if (newest === undefined) throw new Error("no backup listed");
      const rollback = await runShip(["--config", app.config, "--rollback", newest.id], {
        timeoutMs: 20_000,
      });
      expectRefused(rollback, lock);
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    }, 90_000);

    it(`the host's lock a ${kind}: a WARNING naming it, and the update goes on`, async () => {
      const hostLocks = join(app.root, "hostlocks");
      const lock = appLockFile(hostLocks, app.appDir);
      await occupy(lock, kind);
      const run = await runShip(["--config", app.config], {
        env: { SHIP_HOST_LOCK_DIR: hostLocks },
        timeoutMs: 20_000,
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout + run.stderr).toContain(`${lock} is damaged, it is not a file`);
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v3\n");
    }, 60_000);
  }

  it("the daemon's lock a FIFO: `ship agent` exits 2 naming it, no hang", async () => {
    const lock = join(app.root, "var", "locks", "agent.lock");
    await occupy(lock, "FIFO");
    await writeFile(join(app.root, "hub.token"), "token\n", { mode: 0o600 });
    await appendFile(
      app.config,
      `\n[hub]\nurl = "http://127.0.0.1:1"\ntoken_file = "${app.root}/hub.token"\nagent_id = "a1"\n`,
    );
    const run = await runAgentBriefly(app.config);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${lock} is damaged, it is not a file: ship's lock file`);
  }, 60_000);
});
