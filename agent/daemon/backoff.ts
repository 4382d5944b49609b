/**
 * Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with full jitter so a fleet that
 * lost its hub at the same moment does not come back in lockstep.
 */
export function reconnectDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
