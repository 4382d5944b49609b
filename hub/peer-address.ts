/**
 * A peer's address as the hub stores, compares and shows it. A socket listening on `::` (dual
 * stack) hears an IPv4 peer as `::ffff:A.B.C.D`, one on `0.0.0.0` or an IPv4 address as `A.B.C.D`:
 * hubs of one cluster listening unlike each other read one host as two (a 409 asked about a
 * cloned VM that did not exist). The IPv4-mapped form is said as the IPv4 address it is.
 */
export function peerAddress(remote: string | undefined): string | undefined {
  return remote === undefined ? undefined : (/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote)?.[1] ?? remote);
}
