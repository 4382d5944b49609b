/**
 * `sh install.sh ship-NEW.tgz` (the README's upgrade) replaces the package's files under a running
 * `ship agent`. The agent CLI is a bundle of hash-named chunks, and modules an update needs (config
 * merges, archive extraction, the sources) are loaded at first use: after the upgrade those files
 * were gone, and the next instruction failed with "Cannot find module …/bundle/merge-XXXX.js" on
 * every upgraded host (the rollout halted) until someone restarted the agent. Now the agent sees
 * its files replaced before it starts the instruction and exits 75, which systemd restarts; the
 * new version carries the instruction out. A real hub and a real agent started from a copy of the
 * built CLI, whose chunks are then removed as an upgrade removes them.
 */
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

describe("ship agent after its package was replaced under it (real hub, real agent)", () => {
  let fleet: Fleet;
  let copy: string;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1 });
    await fleet.stopAgent(0);
    // Inside node_modules, so the copy resolves ship's dependencies as the installed package does.
    await mkdir(resolve("node_modules/.cache"), { recursive: true });
    copy = await mkdtemp(resolve("node_modules/.cache/ship-upgrade-"));
    await cp(resolve("dist/agent/cli/main.cjs"), join(copy, "main.cjs"));
    await cp(resolve("dist/agent/cli/bundle"), join(copy, "bundle"), { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
    if (copy !== undefined) await rm(copy, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
  });

  /** `ship agent` from the copy, as systemd starts it (and restarts it after a failure). */
  function startCopy() {
    const agent = fleet.agent(0);
    const log = openSync(join(agent.root, "agent.log"), "a");
    const child = spawn(process.execPath, [join(copy, "main.cjs"), "agent", "--config", agent.configFile], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, SHIP_AGENT_FAST: "1" },
    });
    agent.process = child;
    return new Promise<number | null>((exited) => child.once("exit", (code) => exited(code)));
  }

  it("exits 75 to be restarted with the new code, which carries the release out", {
    timeout: 90_000,
  }, async () => {
    const exited = startCopy();
    await fleet.waitFor("agent-1 online", async () => {
      const listed = await fleet.api<{ online: boolean }>("GET", "/agents/agent-1");
      return listed.online;
    });
    // The upgrade: every chunk of the old build is gone (a new build names its chunks anew). The
    // agent writes its code cache once it is online, possibly into bundle/ while this removes it
    // (CI saw ENOTEMPTY): removal is tried again, as a package manager's would be.
    await rm(join(copy, "bundle"), { recursive: true, maxRetries: 20, retryDelay: 50 });

    const release = await fleet.publish({ version: "2.0.0" });
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "one", agents: ["agent-1"] }],
    });
    // Before: the instruction failed "Cannot find module …/bundle/merge-….js" and the rollout halted.
    expect(await exited).toBe(75);
    const log = await readFile(join(fleet.agent(0).root, "agent.log"), "utf8");
    expect(log).toContain("ship was upgraded under this agent");
    expect((await fleet.rollout(id)).counts.failed).toBeUndefined();

    // systemd starts the unit again (Restart=on-failure): the new version resumes the instruction.
    await cp(resolve("dist/agent/cli/bundle"), join(copy, "bundle"), { recursive: true });
    void startCopy();
    await fleet.waitFor("the rollout settled", async () => {
      const counts = (await fleet.rollout(id)).counts;
      return counts.in_progress === undefined && counts.sent === undefined && counts.pending === undefined;
    });
    const view = await fleet.rollout(id);
    expect(view.counts, JSON.stringify(view)).toEqual({ succeeded: 1 });
    expect(await fleet.appVersion(0)).toBe("2.0.0");
  });
});
