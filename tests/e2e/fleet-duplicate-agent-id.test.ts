/**
 * Two hosts with one agent id (a VM cloned with its /etc/machine-id, the default agent_id). The hub
 * used to keep the newer connection and close the other (4000 "replaced by a newer connection"), so
 * the two took each other's place in turn and both carried out the hub's instructions. Now a
 * second connection while the first still answers is refused (409, the reason naming [hub]
 * agent_id), the clone backs off as after any failure, and the hub lists it on its attention list.
 * (A replaced agent's own WARNING is kept for a connection replaced after its host went silent.)
 * Real hub, real agent processes.
 */
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Fleet, stopProcess } from "./fleet.js";

const SHIP_MAIN = resolve("dist/agent/cli/main.cjs");

describe("two agents with one agent id (real hub)", () => {
  let fleet: Fleet;
  beforeEach(async () => {
    fleet = await Fleet.start({ agents: 1 });
  });
  afterEach(async () => {
    await fleet?.close();
  });

  it("the second is refused while the first answers: it says why (naming [hub] agent_id) and backs off", {
    timeout: 60_000,
  }, async () => {
    const original = fleet.agent(0);
    // The clone: the same agent id and token, its own state directory, default reconnect cap.
    const clone = join(fleet.dir, "clone");
    await mkdir(clone, { recursive: true });
    const toml = (await readFile(original.configFile, "utf8"))
      .replaceAll(join(original.root, "state"), join(clone, "state"))
      .replaceAll(join(original.root, "work"), join(clone, "work"))
      .replace("reconnect_max_seconds = 1\n", "");
    await writeFile(join(clone, "ship.toml"), toml);
    const logFile = join(clone, "agent.log");
    const log = openSync(logFile, "a");
    const child = spawn(process.execPath, [SHIP_MAIN, "agent", "--config", join(clone, "ship.toml")], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, SHIP_AGENT_FAST: "1" },
    });
    try {
      // The hub keeps the connection that answers (before: each took the other's place within
      // 100 ms, for ever, and both carried out the hub's instructions).
      await fleet.waitFor("the clone refused once", async () =>
        (await readFile(logFile, "utf8")).includes(
          '"msg":"hub connection failed: the hub refused the connection',
        ),
      );
      const refusedAt = Date.now();
      await new Promise((r) => setTimeout(r, 5000));
      const lines = (await readFile(logFile, "utf8")).split("\n");
      const refusal = lines.find((l) =>
        l.includes('"msg":"hub connection failed: the hub refused the connection'),
      );
      expect(refusal).toContain('"status":409');
      expect(refusal).toContain("agent agent-1 is connected already from 127.0.0.1");
      expect(refusal).toContain("Give each its own [hub] agent_id");
      // The line an operator reads says the hub refused it, the hub's advice last and whole (it
      // read "… Give each its own [hub] agent_id instead of opening the agent channel; reconnecting").
      const failed = lines.find((l) => l.includes('"msg":"hub connection failed: '));
      expect(failed).toMatch(
        /"msg":"hub connection failed: the hub refused the connection \(409: agent agent-1 is connected already from 127\.0\.0\.1 \(host [^)]+\) and answering: a second ship agent on that host, or two hosts with one agent id\? Give each its own \[hub\] agent_id\); reconnecting"/,
      );
      expect(lines.filter((l) => l.includes('"msg":"connected to hub"'))).toEqual([]);
      // Backed off as after any failure: a handful of attempts in 5 s, not dozens. With this test's
      // 100 ms base, doubling, and full jitter down to half (backoff.ts), the shortest n waits sum to
      // 50 × (2^n − 1) ms: at most 6 of them fit in 5 s, so 7 attempts at most (one to spare, as a
      // bound of 6 in 8 s failed a CI run whose jitter came out low: 7); without the backoff there
      // are dozens. 5 s, not 8: the same proof, 3 s less of the file's wait.
      const attempts = lines.filter(
        (l) =>
          l.includes('"msg":"hub connection failed: the hub refused the connection') &&
          Number(/"time":(\d+)/.exec(l)?.[1]) > refusedAt,
      );
      expect(attempts.length, `${attempts.length} attempts in 5 s`).toBeLessThanOrEqual(7);
      // The first host keeps its connection, and the operator sees the clone at the hub.
      const { agents } = await fleet.api<{ agents: { id: string; online: boolean }[] }>("GET", "/agents");
      expect(agents.find((a) => a.id === "agent-1")?.online).toBe(true);
      const { refused } = await fleet.api<{ refused: { agentId: string; reason: string }[] }>(
        "GET",
        "/agents/attention",
      );
      expect(refused.map((r) => r.agentId)).toEqual(["agent-1"]);
    } finally {
      await stopProcess(child, "SIGKILL");
    }
  });
});
