/**
 * One cluster of real `ship-hub serve` processes for a test file: started before its tests (when
 * `run`), closed after them. The getter throws if a test runs without it.
 */
import { afterAll, beforeAll } from "vitest";
import { Cluster, type ClusterOptions } from "../../support/cluster.js";

export function clusterPerFile(run: boolean, options: ClusterOptions): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    if (run) cluster = await Cluster.start(options);
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });
  return () => {
    if (!cluster) throw new Error("cluster not started");
    return cluster;
  };
}
