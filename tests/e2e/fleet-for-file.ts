/**
 * fleetForFile, apart from fleet.ts: the cluster benchmark (tests/performance/cluster-bench.ts, run
 * by `npm run bench` outside vitest) imports fleet.ts through tests/support/cluster.ts, and vitest's
 * hooks throw at import anywhere but inside a test run ("Vitest failed to access its internal
 * state"): the benchmark crashed before it measured anything.
 */
import { afterAll, beforeAll } from "vitest";
import { Fleet, type FleetOptions } from "./fleet.js";

/**
 * One fleet for the calling file or describe block: started in its beforeAll, closed (every
 * process killed, the dir removed) in its afterAll. Read `.fleet` inside tests.
 */
export function fleetForFile(options: FleetOptions, startTimeoutMs = 120_000): { readonly fleet: Fleet } {
  let started: Fleet | undefined;
  beforeAll(async () => {
    started = await Fleet.start(options);
  }, startTimeoutMs);
  afterAll(async () => {
    await started?.close();
  });
  return {
    get fleet() {
      if (started === undefined) throw new Error("the fleet is read outside a test: it starts in beforeAll");
      return started;
    },
  };
}
