/**
 * A rollout body may name its `id` (a UUID, which may be written in upper case). The hub stored it
 * as given: the short id the dashboard and `rollout list` showed (`ABCDEF12`) then found nothing,
 * nor did the id in lower case, and the same UUID in lower case made a second rollout. Ids are
 * stored in lower case now and found in either. Real hub (in process), the real CLI.
 */
import { describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import { hubPerTest, operatorCli, publishRelease } from "./support.js";

const session = hubPerTest();
const UPPER = "ABCDEF12-3456-4789-8ABC-DEF012345678";
const LOWER = UPPER.toLowerCase();

describe("a rollout id given in upper case", () => {
  it("is stored in lower case and found by its id or short id in either case; the same UUID again is a 409", async () => {
    requireHubBin();
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
    const body = (id: string) => ({ id, release, waves: [{ name: "all", percent: 100 }] });
    const preview = await t.api<{ rolloutId: string }>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: body(UPPER),
    });
    expect(preview.body.rolloutId).toBe(LOWER);
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: body(UPPER),
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toBe(LOWER);
    for (const id of [UPPER, LOWER, "ABCDEF12", "abcdef12"]) {
      const res = await t.api<{ id?: string }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator });
      expect({ id, status: res.status, found: res.body.id }).toEqual({ id, status: 200, found: LOWER });
    }
    const shown = await operatorCli(t, "rollout", "show", "ABCDEF12");
    expect(shown.stderr).toBe("");
    expect(shown.stdout).toContain(`rollout  ${LOWER}`);

    const aborted = await t.api("POST", `/api/v1/rollouts/${UPPER}/abort`, { token: t.operator, body: {} });
    expect(aborted.status).toBe(200);
    const again = await t.api("POST", "/api/v1/rollouts", { token: t.operator, body: body(LOWER) });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe(`rollout ${LOWER} exists`);
    const list = await t.api<{ rollouts: { id: string }[] }>("GET", "/api/v1/rollouts", {
      token: t.operator,
    });
    expect(list.body.rollouts.map((r) => r.id)).toEqual([LOWER]);
  });
});

describe("a release id given in upper case", () => {
  it("names the same release: GET /releases/:id, and a rollout and its preview split alike", async () => {
    const t = await session.start();
    const release = await publishRelease(t, "2.0.0");
    for (const id of ["a1", "a2", "a3", "a4", "a5", "a6"]) await session.connect(t, id);
    const got = await t.api<{ id: string }>("GET", `/api/v1/releases/${release.toUpperCase()}`, {
      token: t.operator,
    });
    expect({ status: got.status, id: got.body.id }).toEqual({ status: 200, id: release });
    const body = (id: string) => ({
      release: id,
      waves: [
        { name: "canary", percent: 30 },
        { name: "all", percent: 100 },
      ],
    });
    type Split = { seed: string; waves: { agents: string[] }[] };
    const preview = await t.api<Split>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: body(release),
    });
    const created = await t.api<{ waves: { agents: { agentId: string }[] }[]; release: { id: string } }>(
      "POST",
      "/api/v1/rollouts",
      { token: t.operator, body: body(release.toUpperCase()) },
    );
    expect(created.status).toBe(201);
    expect(created.body.release.id).toBe(release);
    expect(created.body.waves.map((w) => w.agents.map((a) => a.agentId))).toEqual(
      preview.body.waves.map((w) => w.agents),
    );
    expect(preview.body.seed).toBe(release);
  });
});
