/**
 * An id in the path that no rollout, agent or release id can be was said back whole and raw in the
 * 404: `GET /rollouts/%E2%80%AEabc` answered "rollout \u202eabc not found", a right-to-left override
 * that turns the rest of the line around where the dashboard or a log shows it, and a 5,000-character
 * id came back as a 5 KB error. It is a 400 naming the path, with the id quoted, escaped and cut.
 * Real hub (in process) over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "./support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

const long = "a".repeat(5000);
const cases: [string, string, string][] = [
  [
    "GET",
    "/api/v1/rollouts/%E2%80%AEabcd",
    'path: the rollout id "\\u202eabcd" holds a control character, a bidirectional override or an invisible format character, which no id holds',
  ],
  [
    "POST",
    "/api/v1/rollouts/ab%0Acd/pause",
    'path: the rollout id "ab\\ncd" holds a control character, a bidirectional override or an invisible format character, which no id holds',
  ],
  [
    "GET",
    "/api/v1/agents/a%E2%80%8Bb",
    'path: the agent id "a\\u200bb" holds a control character, a bidirectional override or an invisible format character, which no id holds',
  ],
  [
    "GET",
    "/api/v1/releases/x%1B%5B2Jy",
    'path: the release id "x\\u001b[2Jy" holds a control character, a bidirectional override or an invisible format character, which no id holds',
  ],
  [
    "GET",
    `/api/v1/rollouts/${long}`,
    `path: the rollout id "${"a".repeat(40)}…" is 5000 characters long; no id is longer than 200`,
  ],
  [
    "POST",
    `/api/v1/agents/${long}/forget`,
    `path: the agent id "${"a".repeat(40)}…" is 5000 characters long; no id is longer than 200`,
  ],
  [
    "GET",
    `/api/v1/releases/${long}`,
    `path: the release id "${"a".repeat(40)}…" is 5000 characters long; no id is longer than 200`,
  ],
];

describe("an id in the path that no id can be", () => {
  it.each(cases.map(([method, path, error]) => [`${method} ${path.slice(0, 60)}`, method, path, error]))(
    "%s is a 400 quoting it escaped and cut",
    async (_, method, path, error) => {
      const res = await t.api(method, path, { token: t.operator });
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error });
    },
  );

  it("an id that could be one is still looked up: 404 as before", async () => {
    const res = await t.api("GET", `/api/v1/agents/${"b".repeat(200)}`, { token: t.operator });
    expect({ status: res.status, error: res.body.error }).toEqual({
      status: 404,
      error: `agent ${"b".repeat(200)} not found`,
    });
  });

  it("is checked after the caller: 401 without a token", async () => {
    expect((await t.api("GET", "/api/v1/rollouts/%E2%80%AEabcd")).status).toBe(401);
  });
});
