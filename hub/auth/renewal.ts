/**
 * Agent tokens renew themselves over the agent channel: at half its lifetime (a timer per
 * connection, so a token of a few seconds is renewed as surely as one of 30 days), a connected agent
 * is sent a fresh token with the same lifetime (at most the maximum), so a fleet whose agents stay
 * connected or reconnect at least every half-lifetime never runs into expiry. The old token stays
 * valid until its own expiry (an agent that crashed before saving the new one can still connect).
 * The new token names the token the operator issued (not the renewal it replaces), so `ship-hub
 * token revoke` of that token revokes every renewal of it, and renewals that expired are deleted
 * as new ones are made (each token's newest kept, the one its agent holds): an agent connected for
 * years keeps a few rows, not one per renewal.
 */
import { AuthError } from "../errors.js";
import type { Principal, TokenService } from "./tokens.js";
import { MAX_TTL_SECONDS } from "./tokens.js";

/** When an agent token reaches half its lifetime: from then on it is renewed. */
export function renewalDueAt(principal: Pick<Principal, "created" | "expires">): number {
  return principal.created + (principal.expires - principal.created) / 2;
}

export function renewalDue(principal: Principal, now: number): boolean {
  return principal.role === "agent" && now > renewalDueAt(principal);
}

/**
 * A new token for the same agent and lifetime; returns it with the principal it stands for.
 * `principal` is what the connection was opened with, so its token may have been revoked since
 * (the live-session check runs once a second). Revocation revokes the renewals that exist at that
 * moment; one issued after it would escape, so the renewed token is checked again once the new one
 * is stored, and revoked with an AuthError when it is no longer in force.
 */
export async function renewAgentToken(tokens: TokenService, principal: Principal) {
  const lifetime = Math.round((principal.expires - principal.created) / 1000);
  // A renewal that comes due after the token it would replace expired (a hub paused or loaded past
  // it) is refused with no new token: an expired token is renewed by no one.
  await tokens.stillInForce(principal);
  const { token, record } = await tokens.issue({
    role: "agent",
    name: principal.name,
    agentId: principal.agentId ?? "",
    ttlSeconds: Math.min(Math.max(lifetime, 1), MAX_TTL_SECONDS),
    renewedFrom: principal.issuedJti,
  });
  // Revocation marks the whole family at once, so the token this connection runs on tells.
  if (!(await tokens.inForce(principal.jti))) {
    await tokens.revoke(record.jti);
    throw new AuthError(401, "token revoked");
  }
  // Expired renewals go only now: pruned before the check above, the token this connection runs on
  // (a renewal that expired a moment ago) read as revoked, and the whole family was revoked with it,
  // the token the operator issued included: the agent was locked out for good.
  await tokens.pruneRenewals();
  const renewed: Principal = {
    ...principal,
    jti: record.jti,
    created: record.created,
    expires: record.expires,
  };
  return { token, expires: record.expires, principal: renewed };
}
