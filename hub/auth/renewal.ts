/**
 * Agent tokens renew themselves over the agent channel: past half its lifetime, a connected agent
 * is sent a fresh token with the same lifetime (at most the maximum), so a fleet whose agents stay
 * connected or reconnect at least every half-lifetime never runs into expiry. The old token stays
 * valid until its own expiry (an agent that crashed before saving the new one can still connect).
 * The new token names the one it renews, so `ship-hub token revoke` of the token an operator
 * issued also revokes every renewal of it (the operator never sees the renewed jtis).
 */
import type { Principal, TokenService } from "./tokens.js";
import { MAX_TTL_SECONDS } from "./tokens.js";

export function renewalDue(principal: Principal, now: number): boolean {
  return principal.role === "agent" && principal.expires - now < (principal.expires - principal.created) / 2;
}

/** A new token for the same agent and lifetime; returns it with the principal it stands for. */
export async function renewAgentToken(tokens: TokenService, principal: Principal) {
  const lifetime = Math.round((principal.expires - principal.created) / 1000);
  const { token, record } = await tokens.issue({
    role: "agent",
    name: principal.name,
    agentId: principal.agentId ?? "",
    ttlSeconds: Math.min(Math.max(lifetime, 1), MAX_TTL_SECONDS),
    renewedFrom: principal.jti,
  });
  const renewed: Principal = {
    ...principal,
    jti: record.jti,
    created: record.created,
    expires: record.expires,
  };
  return { token, expires: record.expires, principal: renewed };
}
