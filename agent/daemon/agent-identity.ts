/**
 * Who this agent is to the hub: its token (from `[hub] token_file`) and its id (`[hub] agent_id`,
 * else the host id), which must be the agent the token was issued for.
 */
import { stat } from "node:fs/promises";
import type { Hub } from "../../shared/config/schema.js";
import { BadInputError } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { readNamedText } from "../../shared/named-file.js";
import { agentIdProblem, quotedAgentId } from "../../shared/protocol/agent-id.js";
import { tokenTextProblem } from "../../shared/token-text.js";
import { hostId } from "../host-id.js";

export interface AgentIdentity {
  agentId: string;
  token: string;
}

export async function loadAgentIdentity(
  hub: Hub,
  log: Logger,
  configFile = "ship.toml",
  /** Where the host id comes from first (tests name their own file). */
  machineIdFile = "/etc/machine-id",
): Promise<AgentIdentity> {
  const file = hub.token_file;
  const by = { file: configFile, key: "hub.token_file" };
  const token = (await readNamedText(file, by, { nonEmpty: true })).trim();
  const unusable = tokenTextProblem(token);
  if (unusable !== undefined) throw BadInputError.single(configFile, "hub.token_file", `${file} ${unusable}`);
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) {
    // Warn, not refuse: refusing would take a fleet offline over a chmod; the operator should fix it.
    log.warn("the hub token file is readable by other users; chmod 600 it", {
      file,
      mode: (mode & 0o777).toString(8),
    });
  }
  const agentId = hub.agent_id ?? hostId(machineIdFile);
  // [hub] agent_id is checked with the config; the host id it defaults to is checked here, by the
  // rule the hub's channel applies to hello, rather than refused by the hub at every connect.
  const problem = hub.agent_id === undefined ? agentIdProblem(agentId) : undefined;
  if (problem !== undefined)
    throw BadInputError.single(
      configFile,
      "hub.agent_id",
      `this host's id ${quotedAgentId(agentId)} (from /etc/machine-id or the hostname) ${problem}: set [hub] agent_id`,
    );
  const { sub: subject, role } = tokenClaims(token);
  // An operator's or CI's token: the hub refuses it at every connect (403) and the agent retried
  // for ever, the unit "active"; no retry can fix it.
  if (role !== undefined && role !== "agent")
    throw BadInputError.single(
      file,
      "hub.token_file",
      `holds ${/^[aeiou]/.test(role) ? "an" : "a"} ${role} token; ship agent needs an agent token: ship-hub token create --role agent --agent ${agentId}`,
    );
  if (subject !== undefined && subject !== agentId) {
    throw BadInputError.single(
      file,
      "hub.agent_id",
      `the token was issued for agent "${subject}" but this agent is "${agentId}" (set [hub] agent_id or issue a token with --agent ${agentId})`,
    );
  }
  return { agentId, token };
}

/** A JWT's `sub`, `role`, `iat` and `exp` (seconds), read without verifying (only the hub can verify). */
export function tokenClaims(token: string): { sub?: string; role?: string; iat?: number; exp?: number } {
  const payload = token.split(".")[1];
  if (payload === undefined) return {};
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    const { sub, role, iat, exp } = (claims ?? {}) as {
      sub?: unknown;
      role?: unknown;
      iat?: unknown;
      exp?: unknown;
    };
    return {
      ...(typeof sub === "string" ? { sub } : {}),
      ...(typeof role === "string" ? { role } : {}),
      ...(typeof iat === "number" ? { iat } : {}),
      ...(typeof exp === "number" ? { exp } : {}),
    };
  } catch {
    return {};
  }
}
