import * as z from "zod";
import {
  AbortRollout,
  AdvanceRollout,
  PublishRelease,
  ResumeRollout,
  RolloutSpec,
} from "../../shared/api/bodies.js";
import { AgentMessage, HubMessage } from "../../shared/protocol/messages.js";

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });

type Operation = { summary: string; roles: string; body?: string; status?: number };

// One line per route; request bodies come from the same zod schemas that validate them.
const routes: Record<string, Record<string, Operation>> = {
  "/releases": {
    post: {
      summary:
        "Publish a release (manifest validated here; what it warns about, an unknown key, is in the answer's `warnings`); ?dry_run=true checks it all, stores nothing and needs no artifact yet: 200 with the release when held already, else {dry_run: true}",
      roles: "ci",
      body: "PublishRelease",
      status: 201,
    },
    get: {
      summary:
        "List releases, newest first (?app=&limit=; a page holds at most 4 MiB of manifests: `more` and `next`, passed as ?after=, give the next; ?manifest=false leaves each manifest out, its `description` only; each carries its manifest's `warnings`), or an app's release of a version (?app=&version=)",
      roles: "ci, operator",
    },
  },
  "/releases/{id}": {
    get: { summary: "One release, with its manifest's `warnings`", roles: "ci, operator" },
  },
  "/artifacts": {
    put: {
      summary:
        "Streamed upload (not empty); X-Sha256 header (or ?sha256=) optional check; returns {sha256,size}",
      roles: "ci",
      status: 201,
    },
  },
  "/artifacts/{sha256}": { get: { summary: "Download (Range supported)", roles: "agent, ci, operator" } },
  "/rollouts": {
    post: {
      summary: "Create and start a rollout (400 naming the field when it would hold no agent)",
      roles: "operator",
      body: "RolloutSpec",
      status: 201,
    },
    get: {
      summary:
        "List rollouts, newest first (?state=&app=&limit=, default 100, at most 1000; app filters before the limit); `more` is true when older ones were left out, and `next`, passed as ?after=, gives the next page",
      roles: "operator",
    },
  },
  "/rollouts/preview": {
    post: {
      summary:
        "Which agents fall in which wave; `nobody` (400) or `busy` (409) says why create would refuse it, `warnings` what it would accept but an operator should know (a downgrade)",
      roles: "operator",
      body: "RolloutSpec",
    },
  },
  "/rollouts/{id}": {
    get: {
      summary:
        "Waves and every agent's deployment: state, error (why it failed or is not done) and warnings (what its last report warned about; a success that warned is still a success)",
      roles: "operator",
    },
  },
  "/rollouts/{id}/advance": {
    post: {
      summary:
        "Start the next wave; {fromWave: n} refuses (409) if the rollout already left wave n; passing a wave that tested nothing is said in warnings and recorded (rollout.wave_untested, or rollout.wave_empty for one that held no agent) with who passed it",
      roles: "operator",
      body: "AdvanceRollout",
    },
  },
  "/rollouts/{id}/pause": {
    post: {
      summary:
        "Pause; with {fromWave: n} a pause that lands after the rollout left wave n still pauses, and its warnings say which wave it paused and that its agents were already sent the release",
      roles: "operator",
      body: "AdvanceRollout",
    },
  },
  "/rollouts/{id}/resume": {
    post: {
      summary:
        "Resume (after a halt on the failure threshold it accepts the failures so far, the answer's acceptedFailures counting them, not those of a wave it started; after a pause by hand it accepts none: failedBefore says how many still count); {failedSeen: n} refuses (409) a halted rollout's resume when more than n agents have failed by now; completing a rollout held on a last wave that tested nothing is said in warnings and recorded (rollout.wave_untested) with who did",
      roles: "operator",
      body: "ResumeRollout",
    },
  },
  "/rollouts/{id}/abort": {
    post: {
      summary:
        "Abort; {rollback:true} sends updated agents back (on a finished rollout only while one can be: else 409)",
      roles: "operator",
      body: "AbortRollout",
    },
  },
  "/agents": {
    get: {
      summary:
        "Agents, filtered and paged on the hub (?limit=&offset=, or &after= the page's next, or &before= its first agent for the page before it&label=k=v&app=&version=&state=&status=online|offline&q=&facets=true)",
      roles: "operator",
    },
  },
  "/agents/attention": {
    get: {
      summary:
        'Agents the hub refused lately (`signed: false` when the hub did not sign the token: its agent id is only claimed) and agent tokens expiring within 7 days; in a cluster `refusedScope: "this hub"` (each hub keeps its own refusals)',
      roles: "operator",
    },
  },
  "/agents/{id}": {
    get: {
      summary:
        "One agent with its deployments (?deployments_limit=, newest rollout first; deploymentsPage.more and .next when older ones exist, next passed back as ?deployments_after=) and recent reports (?reports_limit=, newest first; reportsPage.more and .next when older ones exist, next passed back as ?reports_before=; ?reports_offset= still read, not with it)",
      roles: "operator",
    },
  },
  "/agents/{id}/check": {
    post: {
      summary:
        "Ask a connected agent to check its sources now: {sent:true}, or in a cluster {sent:false,relayed:true,confirmed:false} through the hub holding it",
      roles: "operator",
      status: 202,
    },
  },
  "/agents/{id}/forget": {
    post: {
      summary:
        "Take an offline agent out of the fleet, new rollouts and the rollouts under way (its unfinished deployments end `forgotten`: neither failed nor succeeded), revoking its agent tokens: {id,forgotten:true,revokedTokens,activeRollouts,rollbacksEnded} (a rollback instruction it owed ends too, sent again if it rejoins); 409 online or forgotten already (when, by whom), 404 unknown; its next hello with a new token brings it back, owed the release again",
      roles: "operator",
    },
  },
  "/events": { get: { summary: "Audit log, newest first (?before=&subject=&limit=)", roles: "operator" } },
  "/stream": {
    get: { summary: "Server-sent events: the newest audit-event id whenever it changes", roles: "operator" },
  },
};

const operations = Object.entries(routes).map(([path, ops]) => ({
  // As express matches: case-insensitive, a trailing slash allowed, a `{param}` one segment.
  pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}/?$`, "i"),
  methods: new Set(Object.keys(ops).map((m) => m.toUpperCase())),
}));

/**
 * The methods the API takes at `path` (below /api/v1), for a 405's Allow header: HEAD beside each
 * GET, as express answers it. None: no route has the path (a 404).
 */
export function allowedMethods(path: string): string[] {
  return withHead(operations.filter((op) => op.pattern.test(path)).flatMap((op) => [...op.methods]));
}

/** `methods` sorted, once each, with HEAD where GET is (express answers a HEAD with its GET route). */
export function withHead(methods: readonly string[]): string[] {
  const all = new Set(methods);
  if (all.has("GET")) all.add("HEAD");
  return [...all].sort();
}

/** Whether the API has a route for `method` at `path` (below /api/v1). */
export function hasOperation(method: string, path: string): boolean {
  return operations.some((op) => op.methods.has(method.toUpperCase()) && op.pattern.test(path));
}

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, ops] of Object.entries(routes)) {
    paths[path] = {};
    for (const [method, op] of Object.entries(ops)) {
      paths[path][method] = {
        summary: op.summary,
        description: `Roles: ${op.roles}`,
        security: [{ bearer: [] }],
        ...(op.body
          ? {
              requestBody: {
                required: true,
                content: { "application/json": { schema: { $ref: `#/components/schemas/${op.body}` } } },
              },
            }
          : {}),
        responses: {
          [String(op.status ?? 200)]: { description: "OK" },
          "400": { description: "{error: 'body.field: problem'}" },
          "401": { description: "missing or invalid token" },
          "403": { description: "wrong role" },
        },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: "ship-hub", version: "1" },
    servers: [{ url: "/api/v1" }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        PublishRelease: schema(PublishRelease),
        RolloutSpec: schema(RolloutSpec),
        AbortRollout: schema(AbortRollout),
        AdvanceRollout: schema(AdvanceRollout),
        ResumeRollout: schema(ResumeRollout),
        AgentMessage: schema(AgentMessage),
        HubMessage: schema(HubMessage),
      },
    },
    "x-websocket": { path: "/api/v1/agent", auth: "Authorization: Bearer <agent token> at upgrade" },
  };
}
