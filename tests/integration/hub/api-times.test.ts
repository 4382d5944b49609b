/**
 * Every time an API answer gives is ISO 8601: `GET /agents/:id` gave its reports' `receivedAt` and
 * its deployments' `updatedAt` as epoch milliseconds, where every other answer (and the dashboard,
 * and the CLI) read ISO. Walks the answers an operator's tools read, after a real agent (over the
 * agent channel) took a rollout and reported, and checks every field named as a time.
 */
import { describe, expect, it } from "vitest";
import { canaryThenRest, hubPerTest, isType, reportAcked } from "./support.js";

const session = hubPerTest();

/** Keys that name a point in time in the API's answers. */
const TIME_KEY = /(^at$|At$|^created$|^updated$|^expires$|^lastSeen$)/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Each time field that is not ISO 8601, by its path in the answer. */
function notIso(value: unknown, path: string, found: string[]): string[] {
  if (Array.isArray(value)) for (const [i, v] of value.entries()) notIso(v, `${path}[${i}]`, found);
  else if (value !== null && typeof value === "object")
    for (const [key, v] of Object.entries(value)) {
      // A report's payload is the agent's own words, not the API's.
      if (key === "payload") continue;
      if (TIME_KEY.test(key) && v !== undefined && (typeof v !== "string" || !ISO.test(v)))
        found.push(`${path}.${key} = ${JSON.stringify(v)}`);
      else notIso(v, `${path}.${key}`, found);
    }
  return found;
}

describe("times in API answers", () => {
  it("are ISO 8601 everywhere: agents (with reports and deployments), rollouts, releases, events", async () => {
    const t = await session.start();
    const { id, agents } = await canaryThenRest(t);
    const [a1] = agents;
    if (!a1) throw new Error("no canary agent");
    await reportAcked(a1, await a1.next(isType("deploy")), "succeeded");
    const paths = [
      "/api/v1/agents",
      "/api/v1/agents/a1",
      "/api/v1/agents/attention",
      "/api/v1/rollouts",
      `/api/v1/rollouts/${id}`,
      "/api/v1/releases",
      "/api/v1/releases?manifest=false",
      "/api/v1/events",
    ];
    const found: string[] = [];
    for (const path of paths) {
      const answer = await t.api("GET", path, { token: t.operator });
      expect(answer.status, path).toBe(200);
      notIso(answer.body, path, found);
    }
    const detail = await t.api<{ reports: unknown[]; deployments: unknown[] }>("GET", "/api/v1/agents/a1", {
      token: t.operator,
    });
    // The walk above saw them: a report and a deployment are there to be checked.
    expect([detail.body.reports.length, detail.body.deployments.length]).toEqual([1, 1]);
    expect(found).toEqual([]);
  });
});
