import { existsSync } from "node:fs";
import { lstat, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { creationErrorText, fileCreationError } from "../../shared/creatable-file.js";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { agentIdProblem, quotedAgentId } from "../../shared/protocol/agent-id.js";
import { MAX_TTL_SECONDS, TokenService, tokenNameProblem } from "../auth/tokens.js";
import { checkClusterSecret, secretSource } from "../cluster/shared-secret.js";
import { loadHubSecret, openHubStore } from "../state.js";
import type { AsyncStore } from "../store/async-store.js";
import { roles } from "../store/store.js";
import { parseDuration, table } from "./format.js";
import { type CommonOptions, resolveExistingPaths } from "./serve.js";
import { say } from "./stderr-lines.js";

/**
 * Runs `fn` on the hub's store. Only `create` signs, so only it loads the secret (first: a secret
 * that cannot be used leaves no data dir behind and no database touched); listing and revoking do
 * not demand a cluster's shared secret.
 */
async function withStore<T>(
  options: CommonOptions,
  signing: boolean,
  fn: (store: AsyncStore, tokens: (() => TokenService) | undefined) => Promise<T>,
): Promise<T> {
  const paths = await resolveExistingPaths(options);
  // Listing or revoking in a database that does not exist yet would only create an empty one.
  if (!signing && paths.database === undefined && !existsSync(paths.dbFile))
    throw BadInputError.single(
      paths.namedBy.dbFile.file,
      paths.namedBy.dbFile.key,
      `no hub database at ${paths.dbFile}: give the serving hub's --config or --data-dir`,
    );
  const secret = signing ? await loadHubSecret(paths) : undefined;
  const { store, cluster } = await openHubStore(paths);
  try {
    // A token signed with a secret the running hubs do not use would be refused by all of them.
    if (secret !== undefined && cluster !== undefined && paths.database !== undefined)
      await checkClusterSecret(cluster, {
        secret,
        source: secretSource(paths),
        database: paths.database,
        now: Date.now(),
        hubTimeoutMs: paths.config.cluster_hub_timeout_seconds * 1000,
      });
    return await fn(store, secret === undefined ? undefined : () => new TokenService(secret, store));
  } finally {
    await store.close();
  }
}

/**
 * --out FILE, checked before a token is issued: its directory is there and FILE is not. A file
 * that exists is never replaced, and one that cannot be made (in /proc, on a read-only filesystem)
 * is refused before the data dir, its secret or a token are made: a slip of the hand (`--out hub.toml`, the secret's file) would
 * have destroyed it; a rotated token goes to a new file, then `mv`.
 */
async function checkOutFile(path: string): Promise<void> {
  const refuse = (why: string) => BadInputError.single("--out", "", `${path} ${why}`);
  const existing = await lstat(path).catch((e: unknown) => (errnoCode(e) === "ENOENT" ? undefined : e));
  if (existing !== undefined)
    throw existing instanceof Error
      ? refuse(`cannot be used: ${fsErrorText(existing)}`)
      : refuse("exists: ship-hub never replaces a file with a token; remove it first, or give a new path");
  const dir = dirname(resolve(path));
  const parent = await stat(dir).catch((e: unknown) => e);
  if (parent instanceof Error || !(parent as Awaited<ReturnType<typeof stat>>).isDirectory())
    throw refuse(
      parent instanceof Error
        ? `cannot be written: ${dir}: ${fsErrorText(parent)}`
        : `cannot be written: ${dir} is not a directory`,
    );
  const uncreatable = await fileCreationError(path);
  if (uncreatable !== undefined) throw refuse(`cannot be written: ${creationErrorText(uncreatable)}`);
}

/** The token into a new file only its owner reads (0600 from its creation: never wider, not even for a moment). */
async function writeTokenFile(path: string, token: string): Promise<void> {
  try {
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    throw BadInputError.single("--out", "", `${path} cannot be written: ${fsErrorText(e)}`);
  }
}

/**
 * A token's name is signed into it and sent with every request: past Node's 16 KB of request
 * headers the hub answered 431 to each, a token issued that could never be used. As an agent id.
 */
const MAX_NAME_CHARACTERS = 200;

export async function tokenCreate(
  options: CommonOptions & { role: string; name?: string; agent?: string; ttl: string; out?: string },
) {
  const role = roles.find((r) => r === options.role);
  if (!role) throw new RangeError(`--role must be one of ${roles.join(", ")}`);
  // Checked before the store is opened: a refused create leaves no data dir or secret behind.
  const ttlSeconds = parseDuration(options.ttl, "--ttl");
  if (ttlSeconds <= 0 || ttlSeconds > MAX_TTL_SECONDS)
    throw new RangeError(`--ttl must be between 1 second and ${MAX_TTL_SECONDS / 86400} days`);
  if (role === "agent" && !options.agent) throw new RangeError("--role agent needs --agent ID");
  // The rule the agent channel's hello checks: a token for another id would lock its agent out.
  const problem = options.agent === undefined ? undefined : agentIdProblem(options.agent);
  if (problem !== undefined) throw new RangeError(`--agent ${quotedAgentId(options.agent ?? "")} ${problem}`);
  // Not dropped silently: the token would be named `agent:ID` in the audit log and `token list`
  // while it holds another role and no agent's channel.
  if (role !== "agent" && options.agent !== undefined)
    throw new RangeError(
      `--agent applies to --role agent only: ${role === "operator" ? "an" : "a"} ${role} token names no agent`,
    );
  const nameLength = [...(options.name ?? "")].length;
  if (nameLength > MAX_NAME_CHARACTERS)
    throw new RangeError(
      `--name is ${nameLength} characters long: must be at most ${MAX_NAME_CHARACTERS} (it travels inside the token, and the hub refuses a request whose headers pass 16 KB)`,
    );
  // Printed by `token list`, the audit log and the event log: a name that shows as nothing (or as
  // less than it holds) named nobody an operator could find there.
  const nameProblem = options.name === undefined ? undefined : tokenNameProblem(options.name);
  if (nameProblem !== undefined) throw new RangeError(`--name ${nameProblem}`);
  const out = options.out;
  if (out !== undefined) await checkOutFile(out);
  const token = await withStore(options, true, async (store, tokens) => {
    const issued = await (tokens as () => TokenService)().issue({
      role,
      ttlSeconds,
      ...(options.name ? { name: options.name } : {}),
      ...(options.agent ? { agentId: options.agent } : {}),
    });
    if (out === undefined) return issued;
    // A token nobody holds stays valid for its whole ttl: one the file never got is revoked.
    await writeTokenFile(out, issued.token).catch(async (e: unknown) => {
      await store.revokeToken(issued.record.jti, Date.now());
      throw e;
    });
    return issued;
  });
  // A bare amount is seconds (`3600`), but `--ttl 30` beside the default 30d reads as 30 days: the
  // token expired half a minute later, unsaid until every request of CI or an agent was a 401.
  if (!/[smhdwy]$/.test(options.ttl.trim()))
    process.stderr.write(
      `ship-hub: note: --ttl ${options.ttl.trim()} has no unit, so it is ${ttlSeconds} second(s): the token expires at ${new Date(token.record.expires).toISOString()}; write a unit for longer (${options.ttl.trim()}d is ${options.ttl.trim()} days)\n`,
    );
  if (out !== undefined) {
    // The token itself never reaches the terminal; the jti is what `token revoke` takes.
    process.stdout.write(`wrote the ${role} token to ${out} (mode 600); its jti: ${token.record.jti}\n`);
    return;
  }
  // Only the token, so `TOKEN=$(ship-hub token create ...)` works.
  process.stdout.write(`${token.token}\n`);
}

export async function tokenRevoke(jti: string, options: CommonOptions) {
  const { revoked, known } = await withStore(options, false, async (store) => {
    const revoked = await store.revokeToken(jti, Date.now());
    return { revoked, known: revoked.length === 0 ? await store.getToken(jti) : undefined };
  });
  // Revoking is idempotent: a script run twice (or a retry after a lost connection) finds the
  // token revoked, which is what it asked for; it used to fail with "no active token" (exit 2).
  if (known !== undefined && known.revoked !== null) {
    const at = new Date(known.revoked).toISOString().replace(/\.\d{3}Z$/, "Z");
    process.stdout.write(`${jti} was revoked already, at ${at}; nothing changed\n`);
    return;
  }
  if (revoked.length === 0)
    throw new RangeError(
      `no token with jti ${jti} (\`ship-hub token list\` shows the jtis; a renewal is deleted once it expires)`,
    );
  // stdout stays the one line scripts read. The whole chain goes (the token issued and every
  // renewal of it), so the others are named on stderr: an operator who revoked a renewal sees the
  // token they issued went with it.
  process.stdout.write(`revoked ${jti}\n`);
  const others = revoked.filter((j) => j !== jti);
  if (others.length > 0)
    say(
      `also revoked ${others.length} more of its chain (the token issued and its renewals): ${others.join(", ")}`,
    );
}

export async function tokenList(options: CommonOptions & { json?: boolean }) {
  const list = await withStore(options, false, (store) => store.listTokens());
  if (options.json) {
    // Times as the API and the table give them (ISO 8601), not the store's epoch milliseconds.
    const at = (ms: number) => new Date(ms).toISOString();
    const rows = list.map((t) => ({
      ...t,
      created: at(t.created),
      expires: at(t.expires),
      revoked: t.revoked === null ? null : at(t.revoked),
    }));
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  // The table lists the tokens an operator issued (the jtis to revoke); an agent token's renewals,
  // which the hub made over the channel, show as the latest expiry among them still in force.
  const renewedUntil = new Map<string, number>();
  for (const t of list)
    if (t.renewedFrom !== null && t.revoked === null)
      renewedUntil.set(t.renewedFrom, Math.max(renewedUntil.get(t.renewedFrom) ?? 0, t.expires));
  const iso = (ms: number | null | undefined) =>
    ms === null || ms === undefined ? null : new Date(ms).toISOString().slice(0, 19);
  const rows = list
    .filter((t) => t.renewedFrom === null)
    .map((t) => [
      t.jti,
      t.role,
      t.name,
      t.agentId,
      iso(t.created),
      iso(t.expires),
      iso(t.revoked),
      iso(renewedUntil.get(t.jti)),
    ]);
  process.stdout.write(
    `${table(["JTI", "ROLE", "NAME", "AGENT", "CREATED", "EXPIRES", "REVOKED", "RENEWED UNTIL"], rows)}\n`,
  );
}
