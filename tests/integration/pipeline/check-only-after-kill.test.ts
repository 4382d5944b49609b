/**
 * `ship --check-only` while a killed update waits for recovery, with the source pointed back at the
 * release recovery restores. The check compared that release's version with the source's candidate,
 * which for a local archive is its sha256 and for git a commit: it said "update available 2.0.0 ->
 * sha256:…" (or "3.0.0 -> origin/main (…)"), exit 100, while the run then said "up to date (2.0.0)",
 * exit 0. It now compares release ids, as the run does once it has recovered. Real CLI, real SIGKILL
 * (SHIP_FAULT), real tarballs and a real git remote.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

const NOTE =
  "an update to 3.0.0 was interrupted and waits for recovery: the next run (or ship --recover) restores 2.0.0 first";

describe("ship --check-only after a killed update, the source offering what recovery restores", () => {
  let root: string;
  let config: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-check-kill-"));
    config = join(root, "ship.toml");
    await mkdir(join(root, "app"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const writeConfig = (source: string) =>
    writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\napp_dir = "${root}/app"\n${source}`,
    );
  const run = (...args: string[]) => runShip(["--config", config, ...args]);

  /** Installs 1.0.0 then 2.0.0 with `offer(v)`, kills the update to 3.0.0, offers 2.0.0 again. */
  async function killedOver2(offer: (v: number) => Promise<void>) {
    for (const v of [1, 2]) {
      await offer(v);
      const installed = await run();
      expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    }
    await offer(3);
    const killed = await runShip(["--config", config], { env: { SHIP_FAULT: "pipeline:before:tests" } });
    expect(killed.code).toBeNull();
    await offer(2);
  }

  /**
   * a1.tgz … a<installs>.tgz installed in turn, then `ship --rollback` to 1.0.0 killed at `fault`;
   * the source then offers a1.tgz again.
   */
  async function killedRollbackToFirst(installs: number, fault: string): Promise<void> {
    await writeTarballs();
    for (let v = 1; v <= installs; v++) {
      await writeConfig(`type = "local"\npath = "${root}/a${v}.tgz"\n`);
      expect((await run()).code).toBe(0);
    }
    const listed = JSON.parse((await run("--list-backups", "--json")).stdout) as {
      id: string;
      version: string;
    }[];
    const target = listed.find((b) => b.version === "1.0.0");
    const killed = await runShip(["--config", config, "--rollback", String(target?.id)], {
      env: { SHIP_FAULT: fault },
    });
    expect(killed.code).toBeNull();
    await writeConfig(`type = "local"\npath = "${root}/a1.tgz"\n`);
  }

  const RECOVERED = "myapp: recovered 2.0.0 after an interrupted update to 3.0.0; then ";

  async function expectAgreement(checkLine: string) {
    const check = await run("--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toBe(`current  myapp: up to date (2.0.0) — but ${NOTE}\n`);
    const after = await run();
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(after.stdout).toBe(checkLine);
  }

  /** a1.tgz … a3.tgz: versions 1.0.0 … 3.0.0 as local archives. */
  async function writeTarballs() {
    for (const v of [1, 2, 3]) {
      const dir = join(root, `r${v}`);
      await mkdir(dir);
      await writeFile(join(dir, "update-manifest.yaml"), `version: "${v}.0.0"\n`);
      await writeFile(join(dir, "app.txt"), `${v}\n`);
      execFileSync("tar", ["czf", join(root, `a${v}.tgz`), "-C", dir, "."]);
    }
  }

  it("a local archive (its candidate is a sha256)", async () => {
    await writeTarballs();
    await killedOver2((v) => writeConfig(`type = "local"\npath = "${root}/a${v}.tgz"\n`));
    // The run says the restore it made first (recovered-first.ts), then what the check said.
    await expectAgreement(`${RECOVERED}up to date (2.0.0)\n`);
  });

  it("a killed --rollback to 1.0.0 with the local archive of 1.0.0 offered: up to date, as the run says", async () => {
    await killedRollbackToFirst(3, "rollback:between-restores");

    const check = await run("--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toBe(
      "current  myapp: up to date (1.0.0) — but a rollback to 1.0.0 was interrupted and waits for recovery: the next run (or ship --recover) finishes it first\n",
    );
    const after = await run();
    expect(after.code, after.stdout + after.stderr).toBe(0);
    // As the check said: the run finishes the rollback first, and says so before its own outcome.
    expect(after.stdout).toBe(
      "myapp: finished the interrupted rollback to 1.0.0 (1 more backup restored); then up to date (1.0.0)\n",
    );
  });

  it("a --rollback of one backup killed mid-restore (only the journal names 1.0.0), the archive of 1.0.0 offered", async () => {
    await killedRollbackToFirst(2, "restore:file");

    const check = await run("--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(
      /^current {2}myapp: up to date \(1\.0\.0\) — but a run was killed while changing the app/,
    );
    const after = await run();
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(after.stdout).toBe(
      "myapp: restored 1.0.0 (finished an interrupted restore); then up to date (1.0.0)\n",
    );
  });

  it("git (its candidate is a branch and a commit)", async () => {
    const git = (cwd: string, ...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd, stdio: "pipe" });
    git(root, "init", "-q", "--bare", "-b", "main", "origin.git");
    git(root, "init", "-q", "-b", "main", "work");
    const work = join(root, "work");
    for (const v of [1, 2, 3]) {
      await writeFile(join(work, "update-manifest.yaml"), `version: "${v}.0.0"\n`);
      await writeFile(join(work, "app.txt"), `${v}\n`);
      git(work, "add", "-A");
      git(work, "commit", "-qm", `v${v}`);
      git(work, "tag", `c${v}`);
    }
    git(root, "clone", "-q", join(root, "origin.git"), "clone");
    await writeConfig(`type = "git"\nlocal_path = "${root}/clone"\nbranch = "main"\n`);
    await killedOver2(async (v) => {
      git(work, "push", "-q", "--force", join(root, "origin.git"), `c${v}:refs/heads/main`);
    });
    const commit = git(work, "rev-parse", "c2").toString().trim().slice(0, 12);
    await expectAgreement(`${RECOVERED}up to date (2.0.0 at origin/main (${commit}))\n`);
  });
});
