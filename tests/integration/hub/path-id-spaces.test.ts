/**
 * An id pasted with a space at its ends (copied out of `rollout list`'s table, or a script's
 * `"$ID "`): `ship-hub rollout show " 7fc643e9"` answered "rollout  7fc643e9 not found" for a
 * rollout that exists, and so did every action, `GET /agents/%20a1` and `GET /releases/ID%20`; the
 * lists already read an id in a filter so (`?subject=`). No id holds a space: the path's id is read
 * without spaces at its ends. Real hub (in process), agents over a real WebSocket, the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import { hubWithLabelledAgents, type LabelledHub } from "./support.js";

describe("an id in the path with spaces at its ends", () => {
  let hub: LabelledHub;
  beforeAll(async () => {
    requireHubBin();
    hub = await hubWithLabelledAgents([{ id: "a1" }]);
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it("names the rollout, the agent and the release it names without them", async () => {
    const created = await hub.cli("rollout", "create", "--release", hub.release, "--json");
    expect(created.code, created.stderr).toBe(0);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    for (const typed of [` ${id.slice(0, 8)}`, `${id} `, `\t${id.slice(0, 8)} `]) {
      const shown = await hub.cli("rollout", "show", typed);
      expect({ code: shown.code, stderr: shown.stderr }, JSON.stringify(typed)).toEqual({
        code: 0,
        stderr: "",
      });
      expect(shown.stdout).toMatch(new RegExp(`^rollout +${id}$`, "m"));
    }
    const paused = await hub.cli("rollout", "pause", ` ${id.slice(0, 8)} `);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/^state +paused by an operator$/m);
    const aborted = await hub.cli("rollout", "abort", `${id} `);
    expect(aborted.code, aborted.stderr).toBe(0);
    const agent = await hub.t.api<{ id: string }>("GET", "/api/v1/agents/%20a1%20", {
      token: hub.t.operator,
    });
    expect({ status: agent.status, id: agent.body.id }).toEqual({ status: 200, id: "a1" });
    const release = await hub.t.api<{ id: string }>("GET", `/api/v1/releases/%20${hub.release}%20`, {
      token: hub.t.operator,
    });
    expect({ status: release.status, id: release.body.id }).toEqual({ status: 200, id: hub.release });
  });

  it('an id of only spaces is a 400 saying so, not "agent  not found"', async () => {
    for (const [method, path, noun] of [
      ["GET", "/api/v1/agents/%20%20", "agent"],
      ["POST", "/api/v1/agents/%20/forget", "agent"],
      ["GET", "/api/v1/rollouts/%09", "rollout"],
      ["POST", "/api/v1/rollouts/%20/pause", "rollout"],
      ["GET", "/api/v1/releases/%20", "release"],
    ] as const) {
      const res = await hub.t.api(method, path, { token: hub.t.operator });
      expect({ status: res.status, error: res.body.error }, `${method} ${path}`).toEqual({
        status: 400,
        error: `path: the ${noun} id is empty (only white space)`,
      });
    }
  });

  it("an id of only spaces is checked after the caller: 401 without a token, 403 for another role", async () => {
    for (const [method, path, noun] of [
      ["GET", "/api/v1/agents/%20%20", "agent"],
      ["POST", "/api/v1/agents/%20/forget", "agent"],
      ["POST", "/api/v1/agents/%20/check", "agent"],
      ["GET", "/api/v1/rollouts/%09", "rollout"],
      ["POST", "/api/v1/rollouts/%20/pause", "rollout"],
      ["GET", "/api/v1/releases/%20", "release"],
    ] as const) {
      const anonymous = await hub.t.api(method, path);
      expect({ status: anonymous.status, error: anonymous.body.error }, `${method} ${path}`).toEqual({
        status: 401,
        error: "missing bearer token",
      });
      const forged = await hub.t.api(method, path, { token: `${hub.t.operator.slice(0, -4)}AAAA` });
      expect(forged.status, `${method} ${path} with a forged token`).toBe(401);
      // Releases take a CI token too; the operator routes refuse it before the path's id is looked at.
      if (noun !== "release") {
        const ci = await hub.t.api(method, path, { token: hub.t.ci });
        expect(ci.status, `${method} ${path} with a CI token`).toBe(403);
      }
    }
  });
});
