/**
 * A release's source sha256 in capitals (sha256sum on some systems, PowerShell's Get-FileHash) was
 * refused by the hub as "must be 64 hex digits", which it was, while X-Sha256 on an upload took it:
 * it is the same hash, taken and stored lower-case, as ship.toml's checksum takes "SHA256:<HEX>".
 */
import { describe, expect, it } from "vitest";
import { ReleaseSourceRef } from "../../../shared/protocol/messages.js";

const hex = "ab".repeat(32);

describe("a release source's sha256", () => {
  it("is taken in either case and kept lower-case; anything else is refused", () => {
    for (const type of ["hub", "sftp", "https"] as const) {
      const where =
        type === "hub" ? {} : type === "sftp" ? { remote_path: "/r.tgz" } : { url: "https://h/r.tgz" };
      const parsed = ReleaseSourceRef.parse({ type, ...where, sha256: hex.toUpperCase() });
      expect((parsed as { sha256: string }).sha256).toBe(hex);
      const bad = ReleaseSourceRef.safeParse({ type, ...where, sha256: "no" });
      expect(bad.error?.issues[0]?.message).toBe("must be 64 hex digits");
    }
  });
});
