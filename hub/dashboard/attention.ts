/** What the fleet page warns about: agents the hub refused, and agents whose token runs out soon. */
import type { StoreOps } from "../store/async-store.js";
import type { Refusal } from "../ws/refusals.js";

/** An agent token closer than this to expiry is listed (renewal starts at half its life). */
export const EXPIRING_SOON_MS = 7 * 24 * 3600 * 1000;

export async function agentsNeedingAttention(store: StoreOps, refusals: readonly Refusal[], now: number) {
  // An agent's newest valid token is what it can use; older ones expiring do not matter.
  const newest = new Map<string, number>();
  for (const t of await store.listTokens()) {
    if (t.role !== "agent" || t.agentId === null || t.revoked !== null) continue;
    newest.set(t.agentId, Math.max(newest.get(t.agentId) ?? 0, t.expires));
  }
  const expiring = [...newest]
    .filter(([, expires]) => expires - now < EXPIRING_SOON_MS)
    .sort((a, b) => a[1] - b[1])
    .map(([agentId, expires]) => ({
      agentId,
      expires: new Date(expires).toISOString(),
      expired: expires <= now,
    }));
  return {
    refused: refusals.map((r) => ({ ...r, lastAt: new Date(r.lastAt).toISOString() })),
    expiringTokens: expiring,
  };
}
