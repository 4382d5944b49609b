/**
 * Renewed agent tokens stay under the operator's control: `token revoke` of the token the operator
 * issued must also end every token the agent channel handed out in its place, which the operator
 * never sees. Real SQLite, real JWTs.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { renewAgentToken, renewalDue } from "../../../hub/auth/renewal.js";
import { TokenService } from "../../../hub/auth/tokens.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";

describe("agent token renewal", () => {
  let dir: string;
  let store: SqliteStore;
  let clock: number;
  let tokens: TokenService;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-renewal-"));
    store = new SqliteStore(join(dir, "hub.db"));
    clock = Date.UTC(2026, 0, 1);
    tokens = new TokenService(randomBytes(32), store, () => clock);
  });
  afterEach(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("renews past half the lifetime; revoking the issued token refuses every renewal of it", () => {
    const issued = tokens.issue({ role: "agent", agentId: "web-1", ttlSeconds: 100 });
    const first = tokens.verify(issued.token);
    expect(renewalDue(first, clock + 40_000)).toBe(false);
    clock += 60_000;
    expect(renewalDue(first, clock)).toBe(true);
    const once = renewAgentToken(tokens, first);
    clock += 60_000;
    const twice = renewAgentToken(tokens, tokens.verify(once.token));
    expect(tokens.verify(twice.token).agentId).toBe("web-1");
    // An unrelated replacement for the same agent, issued by the operator, stays valid.
    const replacement = tokens.issue({ role: "agent", agentId: "web-1", ttlSeconds: 100 });

    expect(tokens.revoke(first.jti)).toBe(true);
    expect(() => tokens.verify(once.token)).toThrow(/revoked/);
    expect(() => tokens.verify(twice.token)).toThrow(/revoked/);
    expect(tokens.verify(replacement.token).jti).toBe(replacement.record.jti);
  });
});
