import { z } from "zod";

/**
 * A sha256 as hex, stored and sent lower-case. Upper-case is the same hash (sha256sum, PowerShell's
 * Get-FileHash prints it so): the hub took it in X-Sha256 and refused it in a release's source as
 * "must be 64 hex digits", which it was.
 */
export function sha256Hex() {
  return z
    .string()
    .toLowerCase()
    .regex(/^[0-9a-f]{64}$/, "must be 64 hex digits");
}
