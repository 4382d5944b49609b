/**
 * A deployment's id, from its rollout and its agent: one row per pair, and the only way ids are
 * made, so a store can find a rollout's rows of some agents by their primary key (PostgreSQL:
 * probes whose count it knows, where `rollout_id = $1` led a custom plan to read every row of a
 * rollout the statistics put at a few).
 */
export function deploymentId(rolloutId: string, agentId: string): string {
  return `${rolloutId}:${agentId}`;
}
