/**
 * Which token an agent connects with at start: the one the hub renewed (kept in the state dir) or
 * the operator's `[hub] token_file`. The last issued wins while it is in force: a renewal made
 * after the file was written, or a replacement the operator wrote after the last renewal, even one
 * that expires before the (revoked) renewal would. Real files; JWT-shaped tokens (only the hub
 * verifies them).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pickToken, warnIfExpiring } from "../../../agent/daemon/renewed-token.js";
import { memoryLogger } from "../../../shared/log.js";

const NOW = Date.UTC(2026, 5, 1) / 1000;
const jwt = (claims: { sub?: string; iat?: number; exp?: number }) =>
  ["e30", Buffer.from(JSON.stringify({ role: "agent", ...claims })).toString("base64url"), "sig"].join(".");

describe("pickToken", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-pick-token-"));
    file = join(dir, "hub.token");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const pick = async (renewed: string | undefined, configured: string) => {
    if (renewed === undefined) await rm(file, { force: true });
    else await writeFile(file, `${renewed}\n`, { mode: 0o600 });
    return pickToken(file, configured, "web-1", NOW * 1000);
  };

  it("takes the renewal made after the operator's token", async () => {
    const configured = jwt({ sub: "web-1", iat: NOW - 20 * 86400, exp: NOW + 10 * 86400 });
    const renewed = jwt({ sub: "web-1", iat: NOW - 5 * 86400, exp: NOW + 25 * 86400 });
    expect(await pick(renewed, configured)).toBe(renewed);
    expect(await pick(undefined, configured)).toBe(configured);
  });

  it("takes a replacement the operator wrote after the last renewal, though the renewal expires later", async () => {
    // The old token's family was revoked (a leak); the replacement has a shorter lifetime.
    const renewed = jwt({ sub: "web-1", iat: NOW - 100 * 86400, exp: NOW + 265 * 86400 });
    const replacement = jwt({ sub: "web-1", iat: NOW - 60, exp: NOW + 30 * 86400 });
    expect(await pick(renewed, replacement)).toBe(replacement);
  });

  it("never an expired one while the other is in force; never another agent's renewal", async () => {
    const expiredRenewal = jwt({ sub: "web-1", iat: NOW - 10, exp: NOW - 1 });
    const configured = jwt({ sub: "web-1", iat: NOW - 100, exp: NOW + 100 });
    expect(await pick(expiredRenewal, configured)).toBe(configured);
    const renewed = jwt({ sub: "web-1", iat: NOW - 200, exp: NOW + 100 });
    const expiredConfigured = jwt({ sub: "web-1", iat: NOW - 50, exp: NOW - 5 });
    expect(await pick(renewed, expiredConfigured)).toBe(renewed);
    const other = jwt({ sub: "web-2", iat: NOW, exp: NOW + 999 });
    expect(await pick(other, configured)).toBe(configured);
    expect(await pick("not a token", configured)).toBe(configured);
  });
});

describe("warnIfExpiring", () => {
  it("an expired token: the command with this agent's id, and the file the agent reads the new one from", () => {
    const lines: { level: string; msg: string }[] = [];
    const token = jwt({ sub: "web-1", exp: NOW - 60 });
    warnIfExpiring(
      token,
      memoryLogger(lines),
      { agentId: "web-1", tokenFile: "/etc/ship/hub.token" },
      NOW * 1000,
    );
    // It said "issue a new one with ship-hub token create --role agent": no --agent (which the
    // command requires), no file, and not that the agent takes it without a restart.
    expect(lines).toEqual([
      expect.objectContaining({
        level: "error",
        msg: `the hub token expired at ${new Date((NOW - 60) * 1000).toISOString()}: the hub refuses this agent; on the hub run ship-hub token create --role agent --agent web-1 and write the token to /etc/ship/hub.token (the agent takes it at its next reconnect, no restart needed)`,
      }),
    ]);
  });
});
