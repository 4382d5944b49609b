/**
 * What a refusal of a second connection under one agent id tells the operator, on one hub and
 * across a cluster alike. From the address the connected one uses it is most likely a second
 * `ship agent` on that host (another config or state directory, one agent id): "two hosts" alone
 * sent the operator hunting for a cloned VM that does not exist. An address not known (a row an
 * older hub wrote) cannot tell, and asks about two hosts as before.
 */

/** The most of a refusal's reason the agent reads (its X-Ship-Refused header keeps this many characters). */
export const REFUSED_REASON_MAX = 200;

/** Where the agent id is held: its address and host as the holder said them, and the hub's words. */
export interface HeldAt {
  agentId: string;
  /** The address the connected process uses (normalised: `normalAddress`). */
  heldFrom: string | undefined;
  hostname: string | undefined;
  /** What follows the place: " and answering" (this hub), " to hub 1a2b3c4d" (another). */
  by: string;
  /** The refused connection's address (normalised). */
  from: string | undefined;
}

export function duplicateAgentQuestion(heldFrom: string | undefined, from: string | undefined): string {
  return heldFrom !== undefined && heldFrom === from
    ? "a second ship agent on that host, or two hosts with one agent id?"
    : "two hosts with one agent id?";
}

/**
 * The 409's reason, within `REFUSED_REASON_MAX`: the question and the advice are the words the
 * operator acts on, and the header's cut took them off behind a 32-character default agent_id (the
 * host's /etc/machine-id) and a host's full name. The names are cut instead, the longest first.
 */
export function duplicateAgentReason(held: HeldAt): string {
  const advice = `${duplicateAgentQuestion(held.heldFrom, held.from)} Give each its own [hub] agent_id`;
  const names = { agentId: held.agentId, remote: held.heldFrom, hostname: held.hostname };
  const words = () =>
    `agent ${names.agentId} is connected already${names.remote === undefined ? "" : ` from ${names.remote}`}${
      names.hostname === undefined ? "" : ` (host ${names.hostname})`
    }${held.by}: ${advice}`;
  for (let over = words().length - REFUSED_REASON_MAX; over > 0; over = words().length - REFUSED_REASON_MAX) {
    const key = longest(names);
    const name = names[key] ?? "";
    if (name.length <= MIN_NAME) break;
    names[key] = `${name.slice(0, Math.max(MIN_NAME, name.length - over) - 3)}...`;
  }
  return words();
}

/** A name is not cut below this many characters (with its "..."): still one to search the fleet for. */
const MIN_NAME = 12;

function longest<K extends string>(names: Record<K, string | undefined>): K {
  const keys = Object.keys(names) as K[];
  return keys.reduce((a, b) => ((names[b]?.length ?? 0) > (names[a]?.length ?? 0) ? b : a));
}
