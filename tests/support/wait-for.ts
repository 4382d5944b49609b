import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `check` until it is true or `timeoutMs` passes; a check that throws counts as "not yet",
 * and its last error is in the timeout message with `where` (e.g. the logs directory) so a failed
 * end-to-end test says what it last saw.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs, intervalMs, where }: { timeoutMs: number; intervalMs: number; where: string },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""} (${where})`);
}
