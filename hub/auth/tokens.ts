import { createSecretKey, type KeyObject, randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import * as z from "zod";
import { agentIdProblem, quotedAgentId } from "../../shared/protocol/agent-id.js";
import { shownNameProblem } from "../../shared/schema/shows-nothing.js";
import { AuthError } from "../errors.js";
import { quotedText } from "../quoted-text.js";
import type { StoreOps } from "../store/async-store.js";
import type { Role, TokenRecord } from "../store/store.js";

export const ISSUER = "ship-hub";
export const AUDIENCE = "ship";
export const MAX_TTL_SECONDS = 366 * 24 * 3600;

/** Who is calling: what a verified token says, confirmed against the store. */
export interface Principal {
  jti: string;
  role: Role;
  name: string;
  /** Set for agent tokens: the one agent this token may speak for. */
  agentId: string | null;
  /** The token the operator issued: this one, or the one this renewal renews (what a renewal names). */
  issuedJti: string;
  /** Issue and expiry times (ms): the agent channel renews agent tokens past half their life. */
  created: number;
  expires: number;
}

const Claims = z.object({
  role: z.enum(["ci", "operator", "agent"]),
  name: z.string(),
  jti: z.string(),
  sub: z.string().optional(),
  iat: z.number(),
  exp: z.number({ error: "token has no exp" }),
});

/** Why `name` cannot name a token (said without the option or field that gave it), or undefined. */
export function tokenNameProblem(name: string): string | undefined {
  const problem = shownNameProblem(name);
  return problem === undefined ? undefined : `${quotedText(name)} ${problem}`;
}

export interface IssueOptions {
  role: Role;
  name?: string;
  agentId?: string;
  ttlSeconds: number;
  /**
   * For an agent channel renewal: the jti of the token the operator issued (not of the renewal it
   * replaces), so revocation reaches every renewal and the table holds no chain.
   */
  renewedFrom?: string;
}

/** Issues, verifies and revokes the hub's bearer tokens (HS256, pinned; exp required; jti revocable). */
export class TokenService {
  // A KeyObject, not a Buffer: given a Buffer, jsonwebtoken first tries to parse it as a PEM public
  // key on every verify, which costs more than the HMAC itself.
  private readonly secret: KeyObject;

  constructor(
    secret: Buffer,
    private readonly store: StoreOps,
    /** The host's clock: tokens' issue, expiry and revocation times are on it, not the hub's rollout clock. */
    readonly now: () => number = Date.now,
  ) {
    this.secret = createSecretKey(secret);
  }

  async issue(options: IssueOptions): Promise<{ token: string; record: TokenRecord }> {
    if (options.ttlSeconds <= 0 || options.ttlSeconds > MAX_TTL_SECONDS)
      throw new RangeError(`ttl must be between 1 second and ${MAX_TTL_SECONDS / 86400} days`);
    if (options.role === "agent" && !options.agentId) throw new RangeError("an agent token needs --agent ID");
    // Never a token for an id the agent channel's hello refuses: the agent could not use it.
    const problem = options.agentId === undefined ? undefined : agentIdProblem(options.agentId);
    if (problem !== undefined)
      throw new RangeError(`agent id ${quotedAgentId(options.agentId ?? "")} ${problem}`);
    // A renewal carries the name its token was issued with, whatever rule held then.
    const nameProblem =
      options.name === undefined || options.renewedFrom !== undefined
        ? undefined
        : tokenNameProblem(options.name);
    if (nameProblem !== undefined) throw new RangeError(`token name ${nameProblem}`);
    const jti = randomUUID();
    const iat = Math.floor(this.now() / 1000);
    const record: TokenRecord = {
      jti,
      role: options.role,
      name: options.name ?? (options.agentId ? `agent:${options.agentId}` : options.role),
      agentId: options.role === "agent" ? (options.agentId ?? null) : null,
      created: iat * 1000,
      expires: (iat + options.ttlSeconds) * 1000,
      revoked: null,
      renewedFrom: options.renewedFrom ?? null,
    };
    const token = jwt.sign(
      { role: record.role, name: record.name, iat, exp: iat + options.ttlSeconds },
      this.secret,
      {
        algorithm: "HS256",
        issuer: ISSUER,
        audience: AUDIENCE,
        jwtid: jti,
        ...(record.agentId ? { subject: record.agentId } : {}),
      },
    );
    await this.store.insertToken(record);
    return { token, record };
  }

  async verify(token: string): Promise<Principal> {
    let decoded: unknown;
    try {
      decoded = jwt.verify(token, this.secret, {
        algorithms: ["HS256"],
        issuer: ISSUER,
        audience: AUDIENCE,
        clockTimestamp: Math.floor(this.now() / 1000),
      });
    } catch (error) {
      throw new AuthError(401, `invalid token: ${jwtProblem(error)}`);
    }
    const claims = Claims.safeParse(decoded);
    if (!claims.success)
      throw new AuthError(401, `invalid token: ${claims.error.issues[0]?.message ?? "bad claims"}`);
    const c = claims.data;
    // jsonwebtoken accepts tokens without exp and with any lifetime; both are refused here.
    if (c.exp - c.iat > MAX_TTL_SECONDS)
      throw new AuthError(401, "invalid token: lifetime exceeds the maximum");
    const record = await this.store.getToken(c.jti);
    if (!record) throw new AuthError(401, "invalid token: unknown jti");
    if (!(await this.familyInForce(record))) throw new AuthError(401, "token revoked");
    if (record.role !== c.role || (record.agentId ?? undefined) !== c.sub)
      throw new AuthError(401, "invalid token: claims do not match the issued token");
    return {
      jti: record.jti,
      role: record.role,
      name: record.name,
      agentId: record.agentId,
      issuedJti: record.renewedFrom ?? record.jti,
      created: record.created,
      expires: record.expires,
    };
  }

  /**
   * Whether this hub signed `token`, whatever else is wrong with it (expired, revoked, unknown): then
   * its `sub` names who it was issued to. Anybody can write a token claiming any `sub`.
   */
  signedHere(token: string): boolean {
    try {
      jwt.verify(token, this.secret, {
        algorithms: ["HS256"],
        ignoreExpiration: true,
        ignoreNotBefore: true,
      });
      return true;
    } catch {
      return false;
    }
  }

  /** Whether any token of `jti`'s family was still in force (see `Store.revokeToken`). */
  async revoke(jti: string): Promise<boolean> {
    return (await this.store.revokeToken(jti, this.now())).length > 0;
  }

  /** Forgets renewals that have expired: each renewal adds a row, so they must go again. */
  pruneRenewals(): Promise<number> {
    return this.store.pruneRenewedTokens(this.now());
  }

  /**
   * A token `verify` accepted a while ago, checked again: 401 when it was revoked (its family
   * included) or has expired since.
   */
  async stillInForce(principal: Pick<Principal, "jti" | "expires">): Promise<void> {
    if (principal.expires <= this.now()) throw new AuthError(401, "invalid token: jwt expired");
    if (!(await this.inForce(principal.jti))) throw new AuthError(401, "token revoked");
  }

  /** Whether the token `jti` is (still) in force as far as the store says: known and not revoked. */
  async inForce(jti: string): Promise<boolean> {
    const record = await this.store.getToken(jti);
    return record !== undefined && (await this.familyInForce(record));
  }

  /**
   * A token is in force only while the token the operator issued is: revocation marks the renewals
   * that exist when it commits, and on PostgreSQL a renewal inserted while the revoking UPDATE ran
   * escaped it (READ COMMITTED: the UPDATE saw no such row, the renewal's own check read before
   * the revocation committed). That renewal stayed valid for its whole lifetime: the agent
   * reconnected with it and was let in. The issued token's row is the revocation that counts.
   */
  private async familyInForce(record: TokenRecord): Promise<boolean> {
    if (record.revoked !== null) return false;
    if (record.renewedFrom === null) return true;
    const issued = await this.store.getToken(record.renewedFrom);
    // Issued tokens are never deleted (only expired renewals are pruned); none is there only in a
    // database an older hub chained, whose flattening names the issued token since.
    return issued === undefined || issued.revoked === null;
  }
}

/**
 * jsonwebtoken's own refusals are fixed wording ("invalid signature", "jwt expired"); a token whose
 * header or payload is not JSON surfaces JSON.parse's message instead, which quotes the token's
 * bytes: a client's text would be answered back, logged and listed among refused agents.
 */
function jwtProblem(error: unknown): string {
  const known = error instanceof jwt.JsonWebTokenError || error instanceof jwt.NotBeforeError;
  // jsonwebtoken's word for three parts that do not decode: answered as "invalid token: invalid
  // token", which says nothing a client can act on.
  if (!known || (error as Error).message === "invalid token") return "jwt malformed";
  return (error as Error).message;
}

/** `Authorization: Bearer <token>` → the token, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}
