/**
 * The agent token the hub renewed over the channel. It is kept in the daemon's state directory
 * (mode 600), not in `[hub] token_file`: the service cannot write /etc (ProtectSystem=strict),
 * and the operator's file stays as they wrote it. At start the agent uses the token of the two,
 * issued for this agent and not expired, that was issued last: a renewal made after the operator
 * wrote the file, or a token the operator wrote after the last renewal (a replacement for a revoked
 * one, perhaps with a shorter lifetime than the revoked renewal still has, which must not win).
 */

import type { Logger } from "../../shared/log.js";
import { readRecordText } from "../state/record-file.js";
import { writeFileAtomic } from "../state/state-file.js";
import { tokenClaims } from "./agent-identity.js";

const DAY_MS = 24 * 3600 * 1000;

export async function saveRenewedToken(file: string, token: string): Promise<void> {
  await writeFileAtomic(file, `${token}\n`, 0o600);
}

/**
 * The token to connect with: the renewed one when it is for this agent and was issued after
 * `configured` (renewals carry the same lifetime, so it then also expires last), unless it has
 * expired and `configured` has not.
 */
export async function pickToken(
  file: string,
  configured: string,
  agentId: string,
  now = Date.now(),
): Promise<string> {
  let renewed: string;
  try {
    renewed = (await readRecordText(file)).trim();
  } catch {
    return configured;
  }
  const claims = tokenClaims(renewed);
  if (claims.sub !== agentId || claims.exp === undefined || claims.iat === undefined) return configured;
  const mine = tokenClaims(configured);
  const alive = (exp: number | undefined) => exp === undefined || exp * 1000 > now;
  if (!alive(claims.exp) && alive(mine.exp)) return configured;
  if (alive(claims.exp) && !alive(mine.exp)) return renewed;
  return claims.iat > (mine.iat ?? 0) ? renewed : configured;
}

/** Says loudly when the token has expired or will soon: the hub then refuses this agent. */
export function warnIfExpiring(
  token: string,
  log: Logger,
  /** Who this agent is and where its token goes, for the way out (the command and the file). */
  agent: { agentId: string; tokenFile?: string },
  now = Date.now(),
): void {
  const exp = tokenClaims(token).exp;
  if (exp === undefined) return;
  const left = exp * 1000 - now;
  const at = new Date(exp * 1000).toISOString();
  // The way out in full: it said only "ship-hub token create --role agent", without the --agent the
  // command requires, nor where the agent looks for the new token, nor that no restart is needed.
  const into = agent.tokenFile === undefined ? "[hub] token_file" : agent.tokenFile;
  if (left <= 0)
    log.error(
      `the hub token expired at ${at}: the hub refuses this agent; on the hub run ship-hub token create --role agent --agent ${agent.agentId} and write the token to ${into} (the agent takes it at its next reconnect, no restart needed)`,
      { expired: at },
    );
  else if (left < 7 * DAY_MS)
    log.warn("the hub token expires soon; the hub renews it while the agent is connected", { expires: at });
}
