/**
 * A cluster hub's last words to the database at a clean stop. `retireHub` releases its agents at
 * once rather than after the hub timeout; but a database that does not answer (frozen, a network
 * dropping packets, a failover) held the stop for as long as it stayed silent, and `systemctl
 * stop` waited for systemd's SIGKILL. Past a few seconds the hub stops as a killed hub would: the
 * other hubs release its agents after cluster_hub_timeout_seconds.
 */
import type { Logger } from "../../shared/log.js";
import type { PostgresStore } from "../store/postgres-store.js";

export const RETIRE_WAIT_MS = 5_000;

export async function leaveCluster(
  cluster: PostgresStore,
  hubId: string,
  at: number,
  log: Logger,
  waitMs = RETIRE_WAIT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let gaveUp = false;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), waitMs);
  });
  const retired = cluster.retireHub(hubId, at).then(
    () => "retired" as const,
    (error: unknown) => {
      // Given up on already: ending the pool fails it, which is no news.
      if (!gaveUp) log.warn("releasing this hub's agents failed", { error: String(error) });
      return "failed" as const;
    },
  );
  const outcome = await Promise.race([retired, late]);
  clearTimeout(timer);
  gaveUp = outcome === "late";
  if (outcome === "late")
    log.warn(
      `releasing this hub's agents failed: the database did not answer within ${waitMs / 1000} s; the other hubs release them after cluster_hub_timeout_seconds`,
    );
  // Queries still waiting on a silent database are ended now, not after the pool's usual wait.
  await cluster.close(outcome === "late" ? 0 : undefined);
}
