/**
 * The hub lists the agents it refused (the attention API, the fleet page) so an operator sees one
 * locked out. A client without any credential can be refused too, claiming any agent id in a token
 * the hub never signed: it must not push the real ones out of that list, nor have its own text
 * answered back. Real hub, real WebSocket upgrades and HTTP requests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

const b64 = (text: string) => Buffer.from(text).toString("base64url");
/** A JWT-shaped token claiming `sub`, signed with nothing the hub knows. */
const forged = (sub: string) =>
  [b64('{"alg":"HS256","typ":"JWT"}'), b64(JSON.stringify({ sub, role: "agent" })), "x"].join(".");

/** One upgrade with `token`: the refusal's status and X-Ship-Refused reason. */
const attempt = (token: string) =>
  new Promise<{ status: number; reason: string }>((resolve) => {
    const ws = new WebSocket(`${t.hub.url.replace(/^http/, "ws")}/api/v1/agent`, {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0, reason: String(res.headers["x-ship-refused"] ?? "") });
      ws.terminate();
    });
    ws.on("error", () => resolve({ status: 0, reason: "" }));
    ws.on("open", () => {
      resolve({ status: 101, reason: "" });
      ws.terminate();
    });
  });

const refusedList = async () =>
  (
    await t.api<{ refused: { agentId: string; reason: string; signed: boolean; count: number }[] }>(
      "GET",
      "/api/v1/agents/attention",
      { token: t.operator },
    )
  ).body.refused;

describe("agents the hub refused", () => {
  it("1,050 forged tokens claiming other ids do not push a real locked-out agent off the list", async () => {
    const issued = await t.hub.tokens.issue({ role: "agent", agentId: "web-07", ttlSeconds: 3600 });
    await t.hub.tokens.revoke(issued.record.jti);
    expect(await attempt(issued.token)).toEqual({ status: 401, reason: "token revoked" });
    expect((await refusedList()).map((r) => r.agentId)).toEqual(["web-07"]);

    for (let i = 0; i < 1050; i += 50) {
      const batch = Array.from({ length: 50 }, (_, k) => attempt(forged(`fake-${i + k}`)));
      for (const outcome of await Promise.all(batch)) expect(outcome.status).toBe(401);
    }
    const listed = await refusedList();
    // Without the bound apart, the oldest of 1,000 entries went first: web-07 was no longer shown.
    expect(listed.find((r) => r.agentId === "web-07")).toEqual({
      agentId: "web-07",
      reason: "token revoked",
      signed: true,
      count: 1,
      lastAt: expect.any(String),
    });
    // The forged ones are kept too (a hub whose secret changed refuses real agents this way), fewer.
    expect(listed.filter((r) => r.agentId.startsWith("fake-"))).toHaveLength(100);
    // And said to be only claimed: listed alike, a forged claim read as that agent locked out.
    expect(listed.filter((r) => r.agentId.startsWith("fake-")).every((r) => !r.signed)).toBe(true);
    expect(listed[0]?.agentId).toBe("fake-1049");
  }, 60_000);

  it("a token whose payload is not JSON is refused in the hub's words, not with its own bytes", async () => {
    const token = [b64('{"alg":"HS256","typ":"JWT"}'), b64('{"sub": <img src=x onerror=alert(1)>'), "x"].join(
      ".",
    );
    const ws = await attempt(token);
    expect(ws).toEqual({ status: 401, reason: "invalid token: jwt malformed" });
    const rest = await t.api("GET", "/api/v1/agents", { token });
    expect(rest).toEqual({ status: 401, body: { error: "invalid token: jwt malformed" } });
    const listed = await refusedList();
    expect(listed[0]).toMatchObject({ agentId: "unknown", reason: "invalid token: jwt malformed" });
  });

  it("a token whose parts do not decode at all is called malformed, not 'invalid token: invalid token'", async () => {
    for (const token of ["a.b.c", "..", `${b64("not json")}.${b64("{}")}.x`]) {
      expect(await attempt(token)).toEqual({ status: 401, reason: "invalid token: jwt malformed" });
      expect(await t.api("GET", "/api/v1/agents", { token })).toEqual({
        status: 401,
        body: { error: "invalid token: jwt malformed" },
      });
    }
  });
});
