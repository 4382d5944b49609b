import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "./support.js";

let t: TestHub;
let secret: Buffer;
beforeAll(async () => {
  t = await startTestHub();
  secret = Buffer.from((await readFile(join(t.dir, "secret"), "utf8")).trim(), "utf8");
});
afterAll(async () => {
  await t.stop();
});

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** A token with a jti the store knows, so only the property under test is wrong. */
async function forge(
  payload: Record<string, unknown>,
  key: Buffer | string = secret,
  options: jwt.SignOptions = {},
) {
  const { record } = await t.hub.tokens.issue({ role: "operator", ttlSeconds: 600 });
  return jwt.sign({ role: "operator", name: "forged", ...payload }, key, {
    algorithm: "HS256",
    issuer: "ship-hub",
    audience: "ship",
    jwtid: record.jti,
    ...options,
  });
}

describe("hub auth", () => {
  it("generates a >= 32-byte secret with mode 600", async () => {
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect((await stat(join(t.dir, "secret"))).mode & 0o777).toBe(0o600);
  });

  it("accepts a valid operator token", async () => {
    expect((await t.api("GET", "/api/v1/rollouts", { token: t.operator })).status).toBe(200);
  });

  it("401 without a token, with a WWW-Authenticate header", async () => {
    const res = await fetch(`${t.hub.url}/api/v1/rollouts`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/Bearer/);
  });

  it("401 for alg none", async () => {
    const { record } = await t.hub.tokens.issue({ role: "operator", ttlSeconds: 600 });
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: "none", typ: "JWT" })}.${b64({ role: "operator", name: "x", jti: record.jti, iat: now, exp: now + 60, iss: "ship-hub", aud: "ship" })}.`;
    expect((await t.api("GET", "/api/v1/rollouts", { token })).status).toBe(401);
  });

  it("401 for a wrong key", async () => {
    const token = await forge({}, randomBytes(32), { expiresIn: 60 });
    expect((await t.api("GET", "/api/v1/rollouts", { token })).status).toBe(401);
  });

  it("401 for an expired token", async () => {
    const token = await forge({
      iat: Math.floor(Date.now() / 1000) - 120,
      exp: Math.floor(Date.now() / 1000) - 60,
    });
    const res = await t.api("GET", "/api/v1/rollouts", { token });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/expired/);
  });

  it("401 for a token without exp", async () => {
    const res = await t.api("GET", "/api/v1/rollouts", { token: await forge({}) });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/exp/);
  });

  it("401 for a token whose lifetime exceeds the maximum", async () => {
    const token = await forge({}, secret, { expiresIn: 400 * 86400 });
    expect((await t.api("GET", "/api/v1/rollouts", { token })).status).toBe(401);
  });

  it("401 for a wrong issuer or audience", async () => {
    expect(
      (
        await t.api("GET", "/api/v1/rollouts", {
          token: await forge({}, secret, { expiresIn: 60, issuer: "evil" }),
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await t.api("GET", "/api/v1/rollouts", {
          token: await forge({}, secret, { expiresIn: 60, audience: "x" }),
        })
      ).status,
    ).toBe(401);
  });

  it("401 for a role claim that differs from the issued token", async () => {
    const { record } = await t.hub.tokens.issue({ role: "ci", ttlSeconds: 600 });
    const token = jwt.sign({ role: "operator", name: "x" }, secret, {
      algorithm: "HS256",
      issuer: "ship-hub",
      audience: "ship",
      jwtid: record.jti,
      expiresIn: 60,
    });
    expect((await t.api("GET", "/api/v1/rollouts", { token })).status).toBe(401);
  });

  it("401 for a revoked token", async () => {
    const { token, record } = await t.hub.tokens.issue({ role: "operator", ttlSeconds: 600 });
    expect((await t.api("GET", "/api/v1/agents", { token })).status).toBe(200);
    await t.hub.tokens.revoke(record.jti);
    const res = await t.api("GET", "/api/v1/agents", { token });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("token revoked");
  });

  it("403 for the wrong role", async () => {
    expect((await t.api("POST", "/api/v1/rollouts", { token: t.ci, body: {} })).status).toBe(403);
    expect((await t.api("GET", "/api/v1/agents", { token: await t.agentToken("a1") })).status).toBe(403);
  });
});
