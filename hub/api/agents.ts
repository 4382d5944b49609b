import { Router } from "express";
import * as z from "zod";
import { NoFields } from "../../shared/api/bodies.js";
import { agoText } from "../ago-text.js";
import { actorOf, requireRole } from "../auth/require-role.js";
import { AgentQuery, queryAgents } from "../dashboard/agent-query.js";
import { agentsNeedingAttention } from "../dashboard/attention.js";
import { HubRequestError } from "../errors.js";
import { forgetOpenDeployments } from "../rollouts/forget-agent.js";
import { isoTime, type ShownTime } from "../shown-time.js";
import type { AgentRecord } from "../store/store.js";
import type { ApiDeps } from "./deps.js";
import { eventSubject } from "./event-subject.js";
import { trimIdParam } from "./path-id.js";
import { cursorText, notBlank, queryCount, queryCursor, queryWord } from "./query-params.js";
import { parseOptionalBody, parseRequest } from "./validate.js";

/**
 * `GET /agents/:id` pages the agent's reports and its deployments, newest first. Both page by
 * cursor (`deployments_after`, `reports_before`: the `next` of the page before), as the rollout
 * list does: by offset over `updatedAt` a deployment that reported between two pages moved to the
 * front, and by offset over arrival a report that came between two pages pushed the rest back —
 * paging on read one row twice and never the one pushed back. `reports_offset` still reads, alone.
 */
const ReportPage = z.strictObject({
  reports_limit: queryCount(1, 200).default(20),
  reports_offset: queryCount(0).optional(),
  reports_before: queryWord(400).optional(),
  deployments_limit: queryCount(1, 200).default(50),
  deployments_after: notBlank(queryCursor()).optional(),
});

const EventsQuery = z.strictObject({
  before: queryCount(1).optional(),
  subject: queryWord().optional(),
  limit: queryCount(1, 1000).default(100),
});

// A connected agent is seen now: the stored time only moves on (re)connect and would age on screen.
function agentView(agent: AgentRecord, online: boolean, now: number, shown: ShownTime) {
  return {
    ...agent,
    online,
    lastSeen: shown(online ? now : agent.lastSeen),
    // As lastSeen: a time, not milliseconds (only a forgotten agent's own page shows it).
    ...(agent.forgottenAt === undefined ? {} : { forgottenAt: shown(agent.forgottenAt) }),
  };
}

/**
 * Why an agent cannot be forgotten when the store says it is not in the fleet: never known (404),
 * or forgotten already, said with when and by whom (a second `agents forget` read "not found", as
 * if the first had not happened or the id were mistyped).
 */
async function unknownOrForgotten(deps: ApiDeps, id: string): Promise<HubRequestError> {
  const agent = await deps.store.getAgent(id);
  if (agent?.forgottenAt === undefined) return new HubRequestError(404, `agent ${id} not found`);
  const [event] = await deps.store.listEvents({ subject: id, kinds: ["agent.forgotten"], limit: 1 });
  const by = event === undefined ? "" : ` by ${event.actor}`;
  return new HubRequestError(
    409,
    `agent ${id} was forgotten already, ${agoText(deps.now() - agent.forgottenAt)} ago${by} (${(deps.shownTime ?? isoTime)(agent.forgottenAt)}): nothing to do; it rejoins the fleet if it connects with a new agent token`,
  );
}

/**
 * One page of the agent's reports and one more, which says whether older ones exist. A cursor the
 * agent has no report for (mistyped, another agent's, pruned since) is refused: read as an empty
 * page it said the agent had no older reports.
 */
async function agentReports(deps: ApiDeps, agentId: string, page: z.output<typeof ReportPage>) {
  const { reports_before: before, reports_offset: offset, reports_limit: limit } = page;
  if (before !== undefined && offset !== undefined)
    throw new HubRequestError(
      400,
      "query.reports_offset: not with reports_before (the cursor says where the page starts)",
    );
  if (before === undefined) return deps.store.listReports(agentId, limit + 1, { offset: offset ?? 0 });
  const found = await deps.store.listReports(agentId, limit + 1, { before });
  if (found.length === 0 && !(await deps.store.hasReport(agentId, before)))
    throw new HubRequestError(
      400,
      `query.reports_before: agent ${agentId} has no report ${before} (kept no longer, or never its own): page again from the newest`,
    );
  return found;
}

export function agentRoutes(deps: ApiDeps): Router {
  const { store, tokens } = deps;
  const shown = deps.shownTime ?? isoTime;
  const router = Router();
  trimIdParam(router, "agent");
  const operator = requireRole(tokens, "operator");

  // ?limit&offset|after|before&label=k=v&app&version&state&status&q&facets: filtered on the hub, with counts.
  router.get("/agents", operator, async (req, res) => {
    const query = parseRequest(AgentQuery, req.query, "query");
    if (query.after !== undefined && query.offset !== undefined)
      throw new HubRequestError(400, "query.offset: not with after (the cursor says where the page starts)");
    if (query.before !== undefined && (query.after !== undefined || query.offset !== undefined))
      throw new HubRequestError(
        400,
        `query.before: not with ${query.after === undefined ? "offset" : "after"} (the cursor says where the page ends)`,
      );
    const agents = await store.listAgents();
    // In a cluster an agent on another hub is online too: its stored presence says so.
    const stored = deps.sharedPresence ? new Set(agents.filter((a) => a.online).map((a) => a.id)) : undefined;
    const page = queryAgents(agents, query, (id) => deps.isOnline(id) || stored?.has(id) === true);
    // An empty fleet of forgotten agents is not a hub no agent ever reached: the CLI says which.
    const forgotten = agents.length === 0 ? await store.countForgottenAgents() : undefined;
    res.json({
      ...page,
      agents: page.agents.map((a) => agentView(a, a.online, deps.now(), shown)),
      ...(forgotten ? { forgotten } : {}),
    });
  });

  // Agents that need a person: refused connections, and agent tokens that expire soon (or did).
  router.get("/agents/attention", operator, async (req, res) => {
    parseRequest(NoFields, req.query, "query");
    // Token expiries and refusals are on the host's clock, which a step moves apart from the hub's.
    const needs = await agentsNeedingAttention(store, deps.refusals?.list() ?? [], tokens.now());
    // Refusals live in each hub's memory (an attacker's made-up ids never reach the database): in a
    // cluster the list is the answering hub's alone, and says so rather than pass for the fleet's.
    res.json(deps.sharedPresence === true ? { ...needs, refusedScope: "this hub" } : needs);
  });

  router.get("/agents/:id", operator, async (req, res) => {
    const agent = await store.getAgent(req.params.id as string);
    if (!agent) throw new HubRequestError(404, `agent ${req.params.id} not found`);
    const page = parseRequest(ReportPage, req.query, "query");
    const found = await agentReports(deps, agent.id, page);
    const more = found.length > page.reports_limit;
    const reports = found.slice(0, page.reports_limit);
    const last = reports.at(-1);
    // Paged: the newest 50 were all there was, and an agent in more rollouts than that had
    // deployments no request reached (nor said it left them out).
    const deployments = await store.pageAgentDeployments({
      agentId: agent.id,
      limit: page.deployments_limit,
      ...(page.deployments_after === undefined ? {} : { after: page.deployments_after }),
    });
    res.json({
      ...agentView(
        agent,
        deps.isOnline(agent.id) || (deps.sharedPresence === true && agent.online),
        deps.now(),
        shown,
      ),
      // Times as every other answer gives them (ISO 8601), not the store's milliseconds.
      deployments: deployments.deployments.map((d) => ({
        ...d,
        updatedAt: shown(d.updatedAt),
      })),
      // `next` (as ?deployments_after=) reads on, as the rollout list's does.
      deploymentsPage: {
        limit: page.deployments_limit,
        ...(deployments.next ? { more: true, next: cursorText(deployments.next) } : {}),
      },
      reports: reports.map((r) => ({ ...r, receivedAt: shown(r.receivedAt) })),
      // `next` (as ?reports_before=) reads on, as deploymentsPage's does.
      reportsPage: {
        limit: page.reports_limit,
        ...(page.reports_before === undefined ? { offset: page.reports_offset ?? 0 } : {}),
        ...(more && last ? { more: true, next: last.id } : {}),
      },
    });
  });

  // Asks a connected agent to look for updates now (its own sources, outside any rollout).
  router.post("/agents/:id/check", operator, async (req, res) => {
    // A body the check does not read is refused, as the rollout actions refuse theirs: a field the
    // caller thought meant something (say {"app": "web"}) must not be ignored behind a 202.
    parseOptionalBody(NoFields, req.body);
    const id = req.params.id as string;
    let relayed = false;
    if (!deps.send(id, { type: "check_now", v: 1 })) {
      const agent = await store.getAgent(id);
      if (!agent) throw new HubRequestError(404, `agent ${id} not found`);
      // In a cluster the agent may be connected to another hub (its stored presence says so): that
      // hub sends it, woken through the database, rather than telling the operator it is away.
      if (!(deps.sharedPresence === true && agent.online && deps.relayCheck))
        throw new HubRequestError(409, `agent ${id} is not connected`);
      await deps.relayCheck(id);
      relayed = true;
    }
    await deps.store.appendEvent({
      at: deps.now(),
      actor: actorOf(res),
      kind: "agent.check_requested",
      subject: id,
      data: relayed ? { via: "the hub holding its connection", confirmed: false } : {},
    });
    // A relay is a NOTIFY nobody answers: the hub holding the socket sends it if the agent is still
    // connected there, and may have died or lost the agent meanwhile. Said as it is, not as "sent".
    res.status(202).json(
      relayed
        ? {
            sent: false,
            relayed: true,
            confirmed: false,
            message: `asked the hub holding ${id}'s connection to send the check; not confirmed (that hub may have lost the connection): the agent's next report or last seen shows whether it checked`,
          }
        : { sent: true },
    );
  });

  // Takes a decommissioned agent out of the fleet: out of `GET /agents`, its counts and new
  // rollouts. Its row stays (past rollouts' deployments name it) and its next hello brings it back.
  router.post("/agents/:id/forget", operator, async (req, res) => {
    parseOptionalBody(NoFields, req.body);
    const id = req.params.id as string;
    const online = `agent ${id} is online: stop it on its host first (an agent that connects is back in the fleet at once)`;
    // This hub's socket is fresher than the stored flag, which a hello in flight has not set yet.
    if (deps.isOnline(id)) throw new HubRequestError(409, online);
    const now = deps.now();
    const actor = actorOf(res);
    const done = await deps.engine.run(async (dispatch) => {
      const { t } = dispatch;
      const outcome = await t.forgetAgent(id, now);
      if (outcome !== "forgotten")
        return { outcome, revoked: [] as string[], active: [] as string[], rollbacks: [] as string[] };
      // A decommissioned host's credentials must not outlive it: each token of the agent, with
      // its renewals (revokeToken revokes the family), unless revoked or expired already.
      // On the tokens' clock (the host's), as the hub's other revocations and its expiry checks are.
      const revoked: string[] = [];
      const tokenNow = tokens.now();
      for (const token of await t.listTokens())
        if (token.agentId === id && token.revoked === null && token.expires > tokenNow)
          revoked.push(...(await t.revokeToken(token.jti, tokenNow)));
      await t.appendEvent({
        at: now,
        actor,
        kind: "agent.forgotten",
        subject: id,
        data: { revokedTokens: revoked },
      });
      // Rollouts under way no longer wait for it, nor count its silence as a failure.
      return { outcome, revoked, ...(await forgetOpenDeployments(deps.engine, dispatch, id, actor, shown)) };
    });
    if (done.outcome === "online") throw new HubRequestError(409, online);
    if (done.outcome === "unknown") throw await unknownOrForgotten(deps, id);
    res.json({
      id,
      forgotten: true,
      revokedTokens: done.revoked,
      activeRollouts: done.active,
      // Finished rollouts whose rollback instruction it owed: that host was not sent back.
      rollbacksEnded: done.rollbacks,
    });
  });

  // The audit log, newest first; `next` pages further back. `subject` takes a rollout's id as the
  // rollout routes do (a unique prefix, either case), and lists its deployments' events with its own.
  router.get("/events", operator, async (req, res) => {
    const parsed = parseRequest(EventsQuery, req.query, "query");
    const query =
      parsed.subject === undefined
        ? parsed
        : { ...parsed, ...(await eventSubject(store, deps.engine, parsed.subject)) };
    const events = (await store.listEvents(query)).map((e) => ({ ...e, at: shown(e.at) }));
    const last = events.at(-1);
    res.json({ events, next: events.length === query.limit && last ? last.id : null });
  });

  return router;
}
