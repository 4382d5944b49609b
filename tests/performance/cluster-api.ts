// The hub API, agent URLs and single hub as the cluster benchmarks drive them (cluster-bench.ts,
// cluster-stages.ts).
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { LoadAgents, type LoadReplies, type MintedAgent, spawnHubForBench } from "../support/cluster.js";

export const BENCH_APP = "benchapp";

export type Api = (method: string, path: string, body?: unknown) => Promise<unknown>;

/** The API as the bench drives it: releases published with the CI token, the rest as an operator. */
export function apiOf(base: string, tokens: { operator: string; ci: string }): Api {
  return async (method, path, body) => {
    const token = method === "POST" && path === "/releases" ? tokens.ci : tokens.operator;
    const response = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

/** The agents' WebSocket endpoint of a hub's HTTP URL. */
export function wsOf(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, "ws")}/api/v1/agent`;
}

/** A release of the bench's app whose artifact nobody fetches (load agents only report). */
export function releaseBody(version: string) {
  return {
    app: BENCH_APP,
    version,
    manifest: `version: "${version}"\n`,
    source: {
      type: "http",
      url: `http://127.0.0.1:9/${BENCH_APP}-${version}.tar.gz`,
      sha256: "0".repeat(64),
    },
  };
}

/**
 * One SQLite `ship-hub serve` in `work` with `count` load agents connected to it: tokens minted
 * before the hub starts, into the data dir it will use (its secret, its database). The caller
 * kills `load` and stops `hub.child`.
 */
export async function singleHubWithAgents(
  work: string,
  count: number,
  openFiles: number,
): Promise<{
  hub: Awaited<ReturnType<typeof spawnHubForBench>>;
  load: LoadAgents;
  tokens: { operator: string; ci: string };
  connect: LoadReplies["connect"];
}> {
  const tokensFile = join(work, "tokens.json");
  await promisify(execFile)(process.execPath, [
    "tests/performance/mint-tokens.mjs",
    join(work, "hub"),
    String(count),
    tokensFile,
  ]);
  const tokens = JSON.parse(await readFile(tokensFile, "utf8")) as {
    operator: string;
    ci: string;
    agents: MintedAgent[];
  };
  const hub = await spawnHubForBench(work, openFiles);
  let load: LoadAgents | undefined;
  try {
    load = await LoadAgents.fork(openFiles);
    const connect = await load.call("connect", {
      url: wsOf(hub.url),
      agents: tokens.agents,
      mode: "hub",
      app: BENCH_APP,
      inFlight: 256,
    });
    return { hub, load, tokens, connect };
  } catch (error) {
    load?.kill();
    hub.child.kill("SIGKILL");
    throw error;
  }
}
