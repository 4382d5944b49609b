/**
 * The hub's store and signing secret, apart from the server: `ship-hub token` opens them too, and
 * importing them from the server loaded Express, ws and the rollout engine into every token
 * command (about half a second of CPU a run) for nothing.
 */
import { BadInputError } from "../shared/errors.js";
import { loadSecret } from "./auth/secret.js";
import type { HubOptions } from "./server.js";
import type { AsyncStore } from "./store/async-store.js";
import { openDatabase } from "./store/open-database.js";
import { openSqliteStore } from "./store/open-sqlite.js";
import type { PostgresStore } from "./store/postgres-store.js";

export type StateOptions = Pick<
  HubOptions,
  "dataDir" | "dbFile" | "namedBy" | "secretFile" | "configFile" | "envSecret" | "database"
> &
  Partial<Pick<HubOptions, "log" | "lockWaitMs" | "databaseAnswerTimeoutMs">>;

/** The store and signing secret, for `serve` and `token create`; the secret is checked before the store is opened. */
export async function openHubState(
  options: StateOptions,
  warn?: (message: string) => void,
): Promise<{ store: AsyncStore; secret: Buffer; cluster: PostgresStore | undefined }> {
  const secret = await loadHubSecret(options, warn);
  return { ...(await openHubStore(options)), secret };
}

/**
 * The signing secret. Checked before connecting (a refused start must not touch the database) and
 * before the data dir is created (a secret file that cannot be used leaves nothing behind).
 */
export async function loadHubSecret(
  options: Pick<HubOptions, "dataDir" | "secretFile" | "configFile" | "envSecret" | "database"> &
    Partial<Pick<HubOptions, "namedBy">>,
  warn: (message: string) => void = (message) => process.stderr.write(`ship-hub: warning: ${message}\n`),
): Promise<Buffer> {
  if (options.database && !options.envSecret && !options.secretFile)
    throw BadInputError.single(
      options.database.file,
      options.database.key,
      "hubs sharing a database must share their JWT secret: set jwt_secret_file in hub.toml or SHIP_HUB_SECRET (a generated per-hub secret would make each hub refuse the others' tokens)",
    );
  return loadSecret({
    dataDir: options.dataDir,
    ...(options.namedBy ? { dataDirBy: options.namedBy.dataDir } : {}),
    ...(options.secretFile ? { secretFile: options.secretFile } : {}),
    ...(options.configFile ? { configFile: options.configFile } : {}),
    ...(options.envSecret ? { envSecret: options.envSecret } : {}),
    warn,
  });
}

/**
 * The store alone, for commands that neither sign nor verify a token (`token list`, `token revoke`):
 * they need no secret, so a cluster's shared secret is not demanded of them.
 */
export async function openHubStore(
  options: Pick<HubOptions, "dataDir" | "dbFile" | "namedBy" | "database"> &
    Partial<Pick<HubOptions, "log" | "lockWaitMs" | "databaseAnswerTimeoutMs">>,
): Promise<{ store: AsyncStore; cluster: PostgresStore | undefined }> {
  if (options.database) {
    const store = await openDatabase(
      options.database,
      options.databaseAnswerTimeoutMs === undefined
        ? {}
        : { answerTimeoutMs: options.databaseAnswerTimeoutMs },
    );
    return { store, cluster: store };
  }
  return { store: await openSqliteStore(options), cluster: undefined };
}
