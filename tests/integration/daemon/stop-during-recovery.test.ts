/**
 * `systemctl stop ship-agent` while the agent's start-up recovery undoes an update a crash cut
 * short (its rollback hooks running): the stop handler was installed only after the recovery, so
 * Node's default ended the agent mid-restore, and a stopped agent left the app half undone (the
 * journal still pending) until its next start. Now the recovery of the app in hand finishes, the
 * agent does not go on to the hub, and it exits 0, or 143 naming the apps it did not reach (it
 * exited 0 then too, a clean stop to systemd). Real CLI; the hub is a closed port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pathExists } from "../../../agent/tree/fs-ops.js";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";

const closedPort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });

describe.skipIf(process.platform !== "linux")("ship agent stopped during its start-up recovery", () => {
  let root: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-stop-recovery-"));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    await rm(root, { recursive: true, force: true });
  });

  const until = (what: string, check: () => Promise<boolean>) =>
    waitFor(what, check, { timeoutMs: 20_000, intervalMs: 25, where: root });
  const exited = (child: ChildProcess) =>
    new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(`exit ${code} ${signal}`)));

  /** Releases 2.0.0 of each app over v1 and kills the update in its post_update hook. */
  async function interruptedApps(
    names: string[],
  ): Promise<{ config: string; general: string; sources: string }> {
    const general = `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n`;
    let sources = "";
    for (const name of names) {
      const app = join(root, `app-${name}`);
      await mkdir(app);
      await writeFile(join(app, "app.txt"), "v1\n");
      const release = join(root, `release-${name}`);
      await mkdir(release);
      await writeFile(join(release, "app.txt"), "v2\n");
      await writeFile(
        join(release, "update-manifest.yaml"),
        [
          'version: "2.0.0"',
          "hooks:",
          "  post_update:",
          `    - "touch ${root}/post-started-${name}; sleep 30"`,
          "  rollback:",
          // Until the test has sent its SIGTERM (60 s at most): a fixed `sleep 2` was the window for it.
          `    - "touch ${root}/rollback-started-${name}; for i in $(seq 1200); do [ -e ${root}/go ] && break; sleep 0.05; done; touch ${root}/rollback-done-${name}"`,
          "",
        ].join("\n"),
      );
      sources += `[sources.${name}]\ntype = "local"\npath = "${release}"\napp_dir = "${app}"\n\n`;
    }
    const config = join(root, "ship.toml");
    await writeFile(config, `${general}\n${sources}`);
    for (const name of names) {
      // An update killed after its files went in: the journal waits for recovery.
      const update = spawn(process.execPath, [SHIP_BIN, "--config", config, "--force", "--sources", name], {
        stdio: "ignore",
      });
      children.push(update);
      await until(`${name}'s post_update hook started`, () => pathExists(join(root, `post-started-${name}`)));
      update.kill("SIGKILL");
      await exited(update);
      expect(await readFile(join(root, `app-${name}`, "app.txt"), "utf8")).toBe("v2\n");
    }
    await writeFile(join(root, "hub.token"), "token\n", { mode: 0o600 });
    await writeFile(
      config,
      `${general}\n[hub]\nurl = "http://127.0.0.1:${await closedPort()}"\ntoken_file = "${root}/hub.token"\nagent_id = "a1"\n\n${sources}`,
    );
    return { config, general, sources };
  }

  /** Starts `ship agent`, stops it with SIGTERM once `app`'s recovery runs its rollback hook. */
  async function stopInRecovery(config: string, app = "web"): Promise<{ exit: string; stderr: string }> {
    await rm(join(root, "go"), { force: true });
    const agent = spawn(process.execPath, [SHIP_BIN, "agent", "--config", config], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(agent);
    let stderr = "";
    agent.stderr?.on("data", (d) => {
      stderr += d;
    });
    const agentExit = exited(agent);
    await until(`${app}'s recovery ran its rollback hook`, () =>
      pathExists(join(root, `rollback-started-${app}`)),
    );
    agent.kill("SIGTERM");
    await writeFile(join(root, "go"), "");
    return { exit: await agentExit, stderr };
  }

  it("finishes undoing the app in hand, then exits 0 without going on to the hub", async () => {
    const { config } = await interruptedApps(["web"]);
    const { exit, stderr } = await stopInRecovery(config);

    // Before: "exit null SIGTERM", the rollback hook cut off and the journal left pending.
    expect(exit).toBe("exit 0 null");
    expect(await pathExists(join(root, "rollback-done-web"))).toBe(true);
    expect(await readFile(join(root, "app-web", "app.txt"), "utf8")).toBe("v1\n");
    expect(stderr).toContain("stopped during the start-up recovery; not connecting to the hub");
    expect(stderr).not.toContain("agent started");
    // Nothing left for the next start.
    const state = JSON.parse(await readFile(join(root, "var/state.json"), "utf8"));
    expect(state.sources.web?.pending_update).toBeUndefined();
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.stdout).not.toContain("interrupted");
  }, 60_000);

  it("exits 143 naming the apps it never reached, which the next start recovers", async () => {
    const { config } = await interruptedApps(["web", "api"]);
    const { exit, stderr } = await stopInRecovery(config);

    // Before: exit 0, a clean stop to systemd, with api's update still half done.
    expect(exit).toBe("exit 143 null");
    expect(await readFile(join(root, "app-web", "app.txt"), "utf8")).toBe("v1\n");
    expect(await readFile(join(root, "app-api", "app.txt"), "utf8")).toBe("v2\n");
    expect(stderr).toContain(
      "stopped by SIGTERM during the start-up recovery: not recovered: api (the next start recovers them); not connecting to the hub",
    );
    expect(stderr).not.toContain("agent started");

    // The next start (systemd's Restart=on-failure) recovers api.
    const { exit: again } = await stopInRecovery(config, "api");
    expect(again).toBe("exit 0 null");
    expect(await readFile(join(root, "app-api", "app.txt"), "utf8")).toBe("v1\n");
  }, 90_000);
});
