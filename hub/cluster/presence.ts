/**
 * One agent id, one live agent process across the hubs of a cluster. On one hub a second
 * connection of an agent id is refused while the first answers a ping (hub/ws/agent-server.ts).
 * Behind a balancer two hosts with one agent_id (a VM cloned with its /etc/machine-id) reached two
 * hubs, each saw no local socket, and both carried out every instruction: both installed a release,
 * both reported on one deployment. The agent names its process at the upgrade (a random id per
 * start, AGENT_INSTANCE_HEADER); another process is refused while the one on record is online on a
 * live hub. The same process moving to another hub (its hub died, a network blip) is let through.
 */
import { z } from "zod";
import { peerAddress } from "../peer-address.js";
import type { PostgresStore } from "../store/postgres-store.js";
import { duplicateAgentReason } from "../ws/duplicate-agent.js";

/** The header's value as the agent sends it (a UUID); anything else is treated as absent. */
const Instance = z.string().regex(/^[A-Za-z0-9-]{8,64}$/);

/**
 * The check the agent channel runs at each upgrade of a cluster hub: a refusal reason (409) when
 * another process of the agent is connected to another live hub, else undefined (recorded).
 */
export function clusterPresenceCheck(
  store: Pick<PostgresStore, "claimInstance">,
  hubId: string,
  hubTimeoutMs: number,
): (
  agentId: string,
  header: string | string[] | undefined,
  remote: string | undefined,
) => Promise<string | undefined> {
  return async (agentId, header, remote) => {
    const instance = Instance.safeParse(header);
    // An agent older than the header: nothing to compare, as before.
    if (!instance.success) return undefined;
    const held = await store.claimInstance(agentId, instance.data, hubId, hubTimeoutMs, remote);
    if (held === undefined) return undefined;
    // As one hub words it (the same question, by the same rule). The hub by its first 8
    // characters: the header keeps 200. The address a row of an older hub holds is normalised as
    // the caller's `remote` is (one host is one address, whatever socket heard it).
    return duplicateAgentReason({
      agentId,
      heldFrom: peerAddress(held.remote),
      hostname: held.hostname,
      by: ` to hub ${held.heldBy.slice(0, 8)}`,
      from: peerAddress(remote),
    });
  };
}
