import { TokenService } from "../auth/tokens.js";
import { openHubState } from "../server.js";
import { roles } from "../store/store.js";
import { parseDuration, table } from "./format.js";
import { type CommonOptions, resolveExistingPaths } from "./serve.js";

async function withTokens<T>(
  options: CommonOptions,
  fn: (tokens: TokenService, state: Awaited<ReturnType<typeof openHubState>>) => Promise<T>,
): Promise<T> {
  const paths = await resolveExistingPaths(options);
  const state = await openHubState(paths);
  try {
    return await fn(new TokenService(state.secret, state.store), state);
  } finally {
    await state.store.close();
  }
}

export async function tokenCreate(
  options: CommonOptions & { role: string; name?: string; agent?: string; ttl: string },
) {
  const role = roles.find((r) => r === options.role);
  if (!role) throw new RangeError(`--role must be one of ${roles.join(", ")}`);
  const token = await withTokens(options, (tokens) =>
    tokens.issue({
      role,
      ttlSeconds: parseDuration(options.ttl),
      ...(options.name ? { name: options.name } : {}),
      ...(options.agent ? { agentId: options.agent } : {}),
    }),
  );
  // Only the token, so `TOKEN=$(ship-hub token create ...)` works.
  process.stdout.write(`${token.token}\n`);
}

export async function tokenRevoke(jti: string, options: CommonOptions) {
  const revoked = await withTokens(options, (tokens) => tokens.revoke(jti));
  if (!revoked) throw new RangeError(`no active token with jti ${jti}`);
  process.stdout.write(`revoked ${jti}\n`);
}

export async function tokenList(options: CommonOptions & { json?: boolean }) {
  const list = await withTokens(options, (_t, state) => state.store.listTokens());
  if (options.json) {
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().slice(0, 19));
  const rows = list.map((t) => [
    t.jti,
    t.role,
    t.name,
    t.agentId,
    iso(t.created),
    iso(t.expires),
    iso(t.revoked),
  ]);
  process.stdout.write(`${table(["JTI", "ROLE", "NAME", "AGENT", "CREATED", "EXPIRES", "REVOKED"], rows)}\n`);
}
