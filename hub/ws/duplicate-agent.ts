/**
 * What a refusal of a second connection under one agent id asks the operator, on one hub and
 * across a cluster alike. From the address the connected one uses it is most likely a second
 * `ship agent` on that host (another config or state directory, one agent id): "two hosts" alone
 * sent the operator hunting for a cloned VM that does not exist. An address not known (a row an
 * older hub wrote) cannot tell, and asks about two hosts as before.
 */
export function duplicateAgentQuestion(heldFrom: string | undefined, from: string | undefined): string {
  return heldFrom !== undefined && heldFrom === from
    ? "a second ship agent on that host, or two hosts with one agent id?"
    : "two hosts with one agent id?";
}
