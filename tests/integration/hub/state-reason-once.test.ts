/**
 * A rollout's state line says what happened once: an abort stores the reason "aborted" (or
 * "aborted; rollback sent to …"), and `rollout show`/`abort` printed `state    aborted — aborted`,
 * `rollout list` the state and a REASON of the same word; a pause read `paused — paused by an
 * operator`. The state now runs into the reason where the reason begins with it, and a reason
 * that is only the state is not said again. Real hub (in process), agents over a real WebSocket,
 * the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { publishRelease, startTestHub, TestAgent, type TestHub } from "./support.js";

describe("a rollout's state and reason are said once", () => {
  let t: TestHub;
  let release = "";
  const agents: TestAgent[] = [];
  const cli = (...args: string[]) =>
    runHubCli(process.cwd(), args, { SHIP_HUB_URL: t.hub.url, SHIP_HUB_TOKEN: t.operator });
  const create = async () => {
    const created = await cli("rollout", "create", "--release", release);
    expect(created.code, created.stderr).toBe(0);
    return /^rollout +(\S+)/m.exec(created.stdout)?.[1] ?? "";
  };

  beforeAll(async () => {
    requireHubBin();
    t = await startTestHub();
    release = await publishRelease(t, "2.0.0");
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agents.push(agent);
    agent.hello("a1", [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }]);
    while (!t.hub.registry.isOnline("a1")) await new Promise((resolve) => setTimeout(resolve, 20));
  });
  afterAll(async () => {
    for (const a of agents) a.ws.close();
    await t?.stop();
  });

  it("an aborted rollout reads `aborted` once in abort, show and list; --json keeps the stored reason", async () => {
    const id = await create();
    const aborted = await cli("rollout", "abort", id);
    expect(aborted.code, aborted.stderr).toBe(0);
    const shown = await cli("rollout", "show", id);
    for (const printed of [aborted.stdout, shown.stdout]) {
      expect(printed).toMatch(/^state +aborted$/m);
      expect(printed).not.toMatch(/aborted — aborted/);
    }
    const listed = await cli("rollout", "list");
    const row = listed.stdout.split("\n").find((line) => line.startsWith(id)) ?? "";
    expect(row).toMatch(/ aborted +\S+ .* -$/);
    expect(row.match(/aborted/g)).toHaveLength(1);
    const json = JSON.parse((await cli("rollout", "show", id, "--json")).stdout) as {
      state: string;
      reason: string;
    };
    expect({ state: json.state, reason: json.reason }).toEqual({ state: "aborted", reason: "aborted" });
  });

  it("a paused rollout reads `paused by an operator`, the state running into its reason", async () => {
    const id = await create();
    try {
      const paused = await cli("rollout", "pause", id);
      expect(paused.code, paused.stderr).toBe(0);
      expect(paused.stdout).toMatch(/^state +paused by an operator$/m);
      expect((await cli("rollout", "show", id)).stdout).toMatch(/^state +paused by an operator$/m);
    } finally {
      await cli("rollout", "abort", id);
    }
  });
});
