/**
 * When a hub may judge other hubs silent: only while its own heartbeats have got through for a
 * whole timeout, judged again once the database's clock is read (that read can wait out an outage).
 */
import { describe, expect, it } from "vitest";
import { OwnHeartbeats } from "../../../hub/cluster/own-heartbeats.js";

describe("OwnHeartbeats", () => {
  const TIMEOUT = 1_000;
  function beatingFor(ms: number) {
    let t = 0;
    const clock = { advance: (by: number) => (t += by) };
    const beats = new OwnHeartbeats(() => t, TIMEOUT);
    for (let at = 0; at < ms; at += 200) {
      clock.advance(200);
      beats.wrote();
    }
    return { beats, clock };
  }

  it("gives the database's time less the timeout once beating for a whole timeout", async () => {
    const { beats } = beatingFor(1_200);
    expect(await beats.silentCutoff(async () => 50_000)).toBe(49_000);
  });

  it("gives none before a whole timeout of beats, nor after a gap longer than the timeout", async () => {
    const young = beatingFor(600);
    expect(await young.beats.silentCutoff(async () => 50_000)).toBeUndefined();
    const { beats, clock } = beatingFor(2_000);
    clock.advance(1_500);
    expect(beats.silent()).toBe(true);
    beats.wrote();
    clock.advance(200);
    beats.wrote();
    expect(await beats.silentCutoff(async () => 50_000)).toBeUndefined();
  });

  it("gives none when the clock read itself waited out an outage, whichever of it and the next beat returns first", async () => {
    for (const beatFirst of [false, true]) {
      const { beats, clock } = beatingFor(2_000);
      const cutoff = await beats.silentCutoff(async () => {
        // The database froze for 2.5 s with this read in flight; on thaw, the held-up heartbeat
        // may get through just before the read returns.
        clock.advance(2_500);
        if (beatFirst) beats.wrote();
        return 50_000;
      });
      expect(cutoff, `heartbeat first: ${beatFirst}`).toBeUndefined();
    }
  });

  it("drop() is first only once per silence; a beat after it starts a new steady run", async () => {
    const { beats, clock } = beatingFor(2_000);
    clock.advance(1_100);
    expect([beats.drop(), beats.drop()]).toEqual([true, false]);
    beats.wrote();
    expect(beats.drop()).toBe(true);
    beats.wrote();
    clock.advance(999);
    beats.wrote();
    expect(await beats.silentCutoff(async () => 9_000)).toBeUndefined();
    clock.advance(1);
    beats.wrote();
    expect(await beats.silentCutoff(async () => 9_000)).toBe(8_000);
  });
});
