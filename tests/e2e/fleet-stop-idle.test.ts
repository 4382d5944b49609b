/**
 * `systemctl stop ship-agent` on an idle agent whose hub went silent (a network cut, a frozen hub
 * host): ws waited 30 s for the hub to answer the close, so the stop hung that long, and the log
 * said "finishing the running instruction first" though nothing ran. A real hub stopped with
 * SIGSTOP plays the silent hub.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

describe("ship agent stopped while idle", () => {
  let fleet: Fleet | undefined;
  let frozen: number | undefined;
  afterEach(async () => {
    if (frozen !== undefined) process.kill(-frozen, "SIGCONT");
    frozen = undefined;
    await fleet?.close();
  });

  it("exits 0 within seconds although the hub does not answer, and says it was idle", async () => {
    fleet = await Fleet.start({ agents: 1 });
    // Fleet keeps its hub process private: its pid is the process group to freeze.
    const hub = (fleet as unknown as { hub: { pid: number } }).hub;
    frozen = hub.pid;
    process.kill(-hub.pid, "SIGSTOP");
    const started = Date.now();
    const code = await fleet.stopAgent(0);
    const took = Date.now() - started;
    expect(code).toBe(0);
    expect(took).toBeLessThan(8_000);
    const log = await readFile(join(fleet.agents[0]?.root ?? "", "agent.log"), "utf8");
    expect(log).toContain('"msg":"stopping"');
    expect(log).not.toContain("finishing the running instruction");
  }, 60_000);
});
