import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TokenSpec {
  role: "operator" | "ci" | "agent";
  name?: string;
  agentId?: string;
  /** Default 30 days. */
  ttlSeconds?: number;
}

/** A cluster's tokens: its PostgreSQL and the JWT secret file its hubs share. */
export interface MintCluster {
  databaseUrl: string;
  secretFile: string;
  /** The build whose hub code mints (and migrates the database): another build's dist/. */
  dist?: string;
}

/**
 * Issues tokens for the SQLite hub whose data dir is `dataDir`, in one node process with the hub's
 * own secret, TokenService and store (what `ship-hub token create` does, once per call), in the
 * order of `specs`, each with the CLI's default lifetime (30 days: not "expiring soon") unless it
 * names its own; with `cluster`, for the hubs on that database and secret instead. For a
 * test's setup: a `token create` is a node start and a store open, about a second of CPU each;
 * tests of the command itself still run the CLI.
 */
export async function mintTokens(
  dataDir: string,
  specs: readonly TokenSpec[],
  cluster?: MintCluster,
): Promise<string[]> {
  const dist = (path: string) => JSON.stringify(pathToFileURL(resolve(cluster?.dist ?? "dist", path)).href);
  const script = `
const { openHubState } = await import(${dist("hub/state.js")});
const { TokenService } = await import(${dist("hub/auth/tokens.js")});
const [dataDir, specs, cluster] = process.argv.slice(1);
const { databaseUrl, secretFile } = JSON.parse(cluster);
const { store, secret } = await openHubState({
  dataDir,
  ...(secretFile ? { secretFile } : {}),
  ...(databaseUrl ? { database: { url: databaseUrl, file: "--database-url", key: "" } } : {}),
});
try {
  const tokens = await store.tx(async (t) => {
    const service = new TokenService(secret, t);
    const out = [];
    for (const spec of JSON.parse(specs)) out.push((await service.issue({ ttlSeconds: 30 * 86400, ...spec })).token);
    return out;
  });
  process.stdout.write(JSON.stringify(tokens));
} finally {
  await store.close();
}
`;
  const { stdout } = await run(process.execPath, [
    "--input-type=module",
    "-e",
    script,
    resolve(dataDir),
    JSON.stringify(specs),
    JSON.stringify(cluster ?? {}),
  ]);
  const tokens = JSON.parse(stdout) as string[];
  if (tokens.length !== specs.length)
    throw new Error(`minted ${tokens.length} tokens, wanted ${specs.length}`);
  return tokens;
}
