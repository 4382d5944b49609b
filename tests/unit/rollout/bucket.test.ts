/**
 * An agent's bucket decides its wave on every hub of every version, and the agent's own gate: the
 * hash behind it must never change, however it is computed.
 */
import { describe, expect, it } from "vitest";
import { bucketOf } from "../../../shared/rollout/bucket.js";

describe("bucketOf", () => {
  it("gives the buckets every earlier hub gave (sha256 of seed, NUL, agent id; first 4 bytes mod 10,000)", () => {
    expect(bucketOf("rel-1", "agent-00001")).toBe(7546);
    expect(bucketOf("1.4.0", "host-abc")).toBe(1370);
    // The id's UTF-8 bytes are hashed, not its UTF-16 code units.
    expect(bucketOf("seed", "zone-ü-host")).toBe(7371);
    expect(bucketOf("", "x")).toBe(377);
  });
});
