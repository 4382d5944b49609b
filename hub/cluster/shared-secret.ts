/**
 * Every hub of a cluster must sign and check tokens with one JWT secret. A hub started with
 * another (a different jwt_secret_file, a stale SHIP_HUB_SECRET) used to start and then refuse
 * every token the others signed: behind a balancer a share of agents, CI jobs and dashboards got
 * 401s from a hub that looked healthy. The database keeps an HMAC of a fixed text under the
 * secret, which identifies the secret without revealing it; a mismatch is refused while another
 * hub is alive.
 */
import { createHmac } from "node:crypto";
import { BadInputError } from "../../shared/errors.js";
import { type DatabaseSource, describeDatabaseUrl } from "../store/open-database.js";
import type { PostgresStore } from "../store/postgres-store.js";

export function secretFingerprint(secret: Buffer): string {
  return createHmac("sha256", secret).update("ship-hub cluster secret check v1").digest("hex");
}

/** Where the secret was set (as loadHubSecret reads it: the environment wins over hub.toml). */
export function secretSource(options: { envSecret?: string; configFile?: string }): {
  file: string;
  key: string;
} {
  return options.envSecret
    ? { file: "SHIP_HUB_SECRET", key: "" }
    : { file: options.configFile ?? "hub.toml", key: "jwt_secret_file" };
}

export interface SecretCheck {
  secret: Buffer;
  /** Where the secret was set, named in the refusal. */
  source: { file: string; key: string };
  database: DatabaseSource;
  /** A hub about to serve: it records the secret when it may. Absent for `token create`. */
  hubId?: string;
  now: number;
  /** A hub whose heartbeat is older than this is not running (cluster_hub_timeout_seconds). */
  hubTimeoutMs: number;
  /** Told when a hub replaced the secret the stopped hubs used (every older token is refused now). */
  warn?: (message: string) => void;
}

/** Throws a one-line BadInputError (exit 2) when the running hubs use another secret. */
export async function checkClusterSecret(store: PostgresStore, check: SecretCheck): Promise<void> {
  const verdict = await store.claimSecret(secretFingerprint(check.secret), {
    ...(check.hubId === undefined ? {} : { hubId: check.hubId }),
    at: check.now,
    liveForMs: check.hubTimeoutMs,
  });
  if (verdict.matches) {
    if (verdict.replaced)
      check.warn?.(
        "the JWT secret differs from the one this database's hubs used before, and none of them is running: this hub's secret is the cluster's from now on, and tokens signed with the old one are refused",
      );
    return;
  }
  const hubs = verdict.liveHubs === 1 ? "the hub" : `the ${verdict.liveHubs} hubs`;
  const ago = Math.max(0, Math.round(verdict.lastHeartbeatAgoMs / 1000));
  const consequence =
    check.hubId === undefined
      ? "every hub would refuse a token signed with it"
      : "this hub would refuse every token they signed, and they every token it signed";
  throw BadInputError.single(
    check.source.file,
    check.source.key,
    `is not the JWT secret of ${hubs} running on ${describeDatabaseUrl(check.database.url)} (last heartbeat ${ago} s ago): ${consequence}; give every hub the same secret (to change it, stop every hub first)`,
  );
}
