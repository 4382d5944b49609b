/**
 * A `ship` process SIGKILLed while its pre_update hook runs leaves the hook running (it has its own
 * process group). The next run must end that hook before it runs any command again: two copies of
 * a hook must never overlap.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { processRunning } from "../../support/process-alive.js";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";

const alive = processRunning;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.skipIf(process.platform !== "linux")("a hook left running by a SIGKILLed ship", () => {
  let root: string;
  let leftover: number | undefined;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-killed-hook-"));
  });
  afterEach(async () => {
    try {
      if (leftover !== undefined) process.kill(-leftover, "SIGKILL");
    } catch {
      // already gone, as it should be
    }
    await rm(root, { recursive: true, force: true });
  });

  it("is ended by the next run before pre_update runs again", async () => {
    const release = join(root, "release");
    await mkdir(release, { recursive: true });
    await mkdir(join(root, "app"));
    // Each copy notes any earlier copy still running (a zombie waiting for the container's init to
    // reap it runs nothing), then its own pid; the first copy then hangs.
    const hook = join(root, "hook.sh");
    await writeFile(
      hook,
      `for p in $(cat "${root}/pids" 2>/dev/null); do
  s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
  case "$s" in *") Z "*|*") X "*) ;; *) echo "overlap with $p" >> "${root}/overlap" ;; esac
done
echo $$ >> "${root}/pids"
if [ ! -e "${root}/first" ]; then touch "${root}/first"; sleep 600; fi
`,
    );
    await writeFile(
      join(release, "update-manifest.yaml"),
      `version: "1.0.0"\nhooks:\n  pre_update:\n    - command: "sh ${hook}"\n      timeout: 900\n`,
    );
    await writeFile(join(release, "app.txt"), "v1\n");
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.myapp]\ntype = "local"\npath = "${release}"\napp_dir = "${root}/app"\n`,
    );

    const first = spawn(process.execPath, [SHIP_BIN, "--config", config], { stdio: "ignore" });
    const exited = new Promise((resolve) => first.on("exit", resolve));
    const hookPid = await waitFor("the first hook", async () => {
      const text = await readFile(join(root, "pids"), "utf8").catch(() => "");
      const pid = Number.parseInt(text.split("\n")[0] ?? "", 10);
      return Number.isNaN(pid) ? undefined : pid;
    });
    leftover = hookPid;
    first.kill("SIGKILL");
    await exited;
    expect(alive(hookPid)).toBe(true); // the hook outlived ship: that is the situation to handle

    const second = await runShip(["--config", config]);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(await readFile(join(root, "overlap"), "utf8").catch(() => "")).toBe("");
    expect(alive(hookPid)).toBe(false);
    const pids = (await readFile(join(root, "pids"), "utf8")).trim().split("\n");
    expect(pids).toHaveLength(2); // the second run ran its own pre_update, after the first was gone
    expect(second.stdout + second.stderr).toMatch(
      /ended pre_update hook\[0\] \(process group \d+\) left running by a killed run/,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v1\n");
  }, 90_000);

  it("a SIGKILLed ship --rollback: its rollback hook is ended by the next run", async () => {
    const release = join(root, "release");
    await mkdir(release, { recursive: true });
    await mkdir(join(root, "app"));
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.myapp]\ntype = "local"\npath = "${release}"\napp_dir = "${root}/app"\n`,
    );
    await writeFile(join(release, "update-manifest.yaml"), `version: "1.0.0"\n`);
    await writeFile(join(release, "app.txt"), "v1\n");
    expect((await runShip(["--config", config])).code).toBe(0);
    const hook = join(root, "rollback-hook.sh");
    await writeFile(hook, `echo $$ >> "${root}/pids"\nsleep 600\n`);
    await writeFile(
      join(release, "update-manifest.yaml"),
      `version: "2.0.0"\nhooks:\n  rollback:\n    - command: "sh ${hook}"\n      timeout: 900\n`,
    );
    await writeFile(join(release, "app.txt"), "v2\n");
    expect((await runShip(["--config", config])).code).toBe(0);
    const listed = await runShip(["--config", config, "--list-backups", "--json"]);
    const backup = (JSON.parse(listed.stdout) as { id: string; version: string | null }[]).find(
      (b) => b.version === "1.0.0",
    );
    expect(backup).toBeDefined();

    const rollback = spawn(process.execPath, [SHIP_BIN, "--config", config, "--rollback", backup?.id ?? ""], {
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => rollback.on("exit", resolve));
    const hookPid = await waitFor("the rollback hook", async () => {
      const pid = Number.parseInt((await readFile(join(root, "pids"), "utf8").catch(() => "")).trim(), 10);
      return Number.isNaN(pid) ? undefined : pid;
    });
    leftover = hookPid;
    rollback.kill("SIGKILL");
    await exited;
    expect(alive(hookPid)).toBe(true); // the hook outlived ship --rollback
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v1\n"); // hooks run after the restore

    // The next run (the timer's) ends it before anything else; then it offers 2.0.0 again.
    const next = await runShip(["--config", config]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(alive(hookPid)).toBe(false);
    expect(next.stdout + next.stderr).toMatch(
      /ended rollback hook\[0\] \(process group \d+\) left running by a killed run/,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("v2\n");
  }, 90_000);
});
