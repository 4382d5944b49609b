// The hub API and agent URLs as the cluster benchmarks drive them (cluster-bench.ts, cluster-stages.ts).

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
