import type { NextFunction, Request, Response } from "express";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { StoreOps } from "./store/async-store.js";

/**
 * How old the store's counts may be when a scrape reads them. `/metrics` needs no token, and each
 * count scans its table (on SQLite, on the event loop): with a million deployments one scrape took
 * 0.55 s, and 20 at once held `/healthz` 11 s. Counts are read at most this often, and scrapes
 * arriving meanwhile share one read; Prometheus scrapes every 15 s or more.
 */
export const COUNTS_MAX_AGE_MS = 10_000;

interface StoreCounts {
  online: number;
  rollouts: Record<string, number>;
  deployments: Record<string, number>;
}

/** Prometheus metrics of one hub; a registry per hub so several can run in one process (tests). */
export class HubMetrics {
  readonly registry = new Registry();
  readonly wsMessages: Counter<"direction" | "type">;
  private readonly httpDuration: Histogram<"method" | "route" | "status">;
  private counts: { at: number; read: Promise<StoreCounts> } | undefined;

  constructor(
    private readonly store: StoreOps,
    private readonly now: () => number = Date.now,
  ) {
    const registers = [this.registry];
    const counts = () => this.storeCounts();
    new Gauge({
      name: "ship_hub_agents_online",
      help: "Agents with an open WebSocket connection",
      registers,
      async collect() {
        this.set((await counts()).online);
      },
    });
    new Gauge({
      name: "ship_hub_rollouts",
      help: "Rollouts by state",
      labelNames: ["state"],
      registers,
      async collect() {
        const { rollouts } = await counts();
        this.reset();
        for (const [state, n] of Object.entries(rollouts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: "ship_hub_deployments",
      help: "Deployments (one agent in one rollout) by state",
      labelNames: ["state"],
      registers,
      async collect() {
        const { deployments } = await counts();
        this.reset();
        for (const [state, n] of Object.entries(deployments)) this.set({ state }, n);
      },
    });
    this.httpDuration = new Histogram({
      name: "ship_hub_http_request_duration_seconds",
      help: "API latency",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.wsMessages = new Counter({
      name: "ship_hub_ws_messages_total",
      help: "WebSocket messages by direction and type",
      labelNames: ["direction", "type"],
      registers,
    });
  }

  /** The store's counts, read again only when older than COUNTS_MAX_AGE_MS (a failed read is not kept). */
  private storeCounts(): Promise<StoreCounts> {
    const at = this.now();
    if (this.counts && at - this.counts.at < COUNTS_MAX_AGE_MS) return this.counts.read;
    const read = (async () => ({
      online: await this.store.countAgentsOnline(),
      rollouts: await this.store.countRolloutsByState(),
      deployments: await this.store.countDeploymentsByState(),
    }))();
    const entry = { at, read };
    this.counts = entry;
    read.catch(() => {
      if (this.counts === entry) this.counts = undefined;
    });
    return read;
  }

  /** Express middleware timing each request under its route pattern (never the raw URL: ids would explode labels). */
  httpTimer() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const end = this.httpDuration.startTimer();
      res.on("finish", () => {
        end({ method: req.method, route: routeLabel(req), status: String(res.statusCode) });
      });
      next();
    };
  }
}

/**
 * The route's pattern with the path its router is mounted at. A request a route refuses (it throws)
 * is answered by the app's error handler, after express has reset `baseUrl` on leaving the router:
 * the mount is then what the URL holds before the pattern's segments, so a route's 400s and 404s
 * count under the same label as its 200s (`/api/v1/releases`, not `/releases`).
 */
function routeLabel(req: Request): string {
  if (!req.route) return "unmatched";
  const pattern = String(req.route.path);
  const segments = (req.originalUrl.split("?")[0] ?? "").replace(/\/+$/, "").split("/");
  const depth = pattern.split("/").filter(Boolean).length;
  const mount = req.baseUrl !== "" ? req.baseUrl : segments.slice(0, segments.length - depth).join("/");
  // Lower case, as the mount is written: express matches paths without case, so `/API/v1/releases`
  // reached the route too, and each spelling made a label of its own. `baseUrl` is the mount as
  // the request spelled it: a route's answers (its 200s) were split under `/API/V1/releases`,
  // `/Api/v1/releases`, … and a dashboard summing `/api/v1/releases` missed them.
  return `${mount.toLowerCase()}${pattern}`;
}
