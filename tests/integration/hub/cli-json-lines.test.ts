/**
 * With --json every line ship-hub writes for a program is JSON, on stdout and stderr: the built CLI
 * against a real hub, through commands whose warnings, notes and watch's stop line were text.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHubCli } from "../../support/hub-cli.js";
import {
  canaryThenRest,
  isType,
  publishRelease,
  reportAcked,
  startTestHub,
  TestAgent,
  type TestHub,
} from "./support.js";

let t: TestHub;
beforeEach(async () => {
  t = await startTestHub();
});
afterEach(async () => {
  await t.stop();
});

const cli = (...args: string[]) =>
  runHubCli(t.dir, [...args, "--hub", t.hub.url, "--json"], { SHIP_HUB_TOKEN: t.operator });

/** Each non-empty line of a stream, parsed: a line that is not JSON fails here, naming it. */
function jsonLines(stream: string): unknown[] {
  return stream
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new Error(`not JSON: ${line}`);
      }
    });
}

describe("ship-hub --json writes only JSON lines", () => {
  // An argument is readable by every local user (ps, /proc/PID/cmdline) while the command runs.
  it("--token is warned about on stderr (JSON with --json), pointing to SHIP_HUB_TOKEN and --token-file; they are not", async () => {
    const warning =
      "--token puts the operator token in the process list (ps), where every local user can read it; set SHIP_HUB_TOKEN or use --token-file (chmod 600) instead";
    const json = await runHubCli(t.dir, ["agents", "--hub", t.hub.url, "--token", t.operator, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(jsonLines(json.stderr)).toContainEqual({ warning });
    const text = await runHubCli(t.dir, ["agents", "--hub", t.hub.url, "--token", t.operator]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr.split("\n")).toContain(`warning: ${warning}`);
    expect(text.stderr).not.toContain(t.operator);
    const tokenFile = join(t.dir, "operator.token");
    await writeFile(tokenFile, `${t.operator}\n`, { mode: 0o600 });
    const fromFile = await runHubCli(t.dir, ["agents", "--hub", t.hub.url, "--token-file", tokenFile]);
    const fromEnv = await runHubCli(t.dir, ["agents", "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    for (const quiet of [fromFile, fromEnv]) {
      expect(quiet.code, quiet.stderr).toBe(0);
      expect(quiet.stderr).not.toContain("--token puts");
    }
  });

  it("notes of an empty agent list and of a rollout list of an unknown app are JSON on stderr", async () => {
    const agents = await cli("agents");
    expect(agents.code).toBe(0);
    expect(jsonLines(agents.stderr)).toEqual([
      { note: expect.stringMatching(/^the hub knows no agent yet/) },
    ]);
    const list = await cli("rollout", "list", "--app", "nosuch");
    expect(list.code).toBe(0);
    expect(jsonLines(list.stderr)).toEqual([
      { note: 'the hub has no release of an app "nosuch" (app names are case-sensitive)' },
    ]);
  });

  it("watch's stopped-watching line on a rollout halted on its threshold is JSON on stderr, as each view on stdout", async () => {
    const v2 = await publishRelease(t, "2.0.0");
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    agent.hello("a1");
    await expect.poll(() => t.hub.registry.isOnline("a1")).toBe(true);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: v2, waves: [{ name: "all", percent: 100 }], failureThreshold: { count: 1 } },
    });
    const id = created.body.id;
    await reportAcked(agent, await agent.next(isType("deploy")), "failed");
    await expect
      .poll(
        async () =>
          (await t.api<{ needsDecision: boolean }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator }))
            .body.needsDecision,
      )
      .toBe(true);
    const watched = await cli("rollout", "show", id, "--watch", "--interval", "0.1");
    expect(watched.code).toBe(1);
    expect(jsonLines(watched.stdout)).toEqual([expect.objectContaining({ id, needsDecision: true })]);
    expect(jsonLines(watched.stderr)).toEqual([
      {
        message: expect.stringMatching(
          new RegExp(`^stopped watching: rollout ${id} waits for an operator's decision: `),
        ),
      },
    ]);
    agent.ws.terminate();
  });

  it("a late abort's warning and an abort's note are JSON on stderr", async () => {
    const { id, agents } = await canaryThenRest(t);
    await agents[0]?.next(isType("deploy"));
    // Another operator advances while this one decides to abort the canary.
    await t.api("POST", `/api/v1/rollouts/${id}/advance`, { token: t.operator, body: { fromWave: 0 } });
    await agents[1]?.next(isType("deploy"));
    const aborted = await cli("rollout", "abort", id, "--from-wave", "1");
    expect(aborted.code).toBe(0);
    // stdout is the view, one JSON document (indented).
    expect(JSON.parse(aborted.stdout)).toMatchObject({ id, state: "aborted" });
    const lines = jsonLines(aborted.stderr);
    expect(lines).toContainEqual({
      warning: expect.stringMatching(/^aborted in wave 2 \(rest\), not wave 1 \(canary\)/),
    });
    expect(lines).toContainEqual({
      note: expect.stringMatching(/agent\(s\) already sent the release finish their update/),
    });
    for (const a of agents) a.ws.terminate();
  });
});
