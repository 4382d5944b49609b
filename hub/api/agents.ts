import { Router } from "express";
import { z } from "zod";
import { requireRole } from "../auth/require-role.js";
import { HubRequestError } from "../errors.js";
import type { AgentRecord } from "../store/store.js";
import type { ApiDeps } from "./deps.js";
import { parseRequest } from "./validate.js";

const EventsQuery = z.object({
  before: z.coerce.number().int().positive().optional(),
  subject: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

function agentView(agent: AgentRecord, online: boolean) {
  return { ...agent, online, lastSeen: new Date(agent.lastSeen).toISOString() };
}

export function agentRoutes(deps: ApiDeps): Router {
  const { store, tokens } = deps;
  const router = Router();
  const operator = requireRole(tokens, "operator");

  router.get("/agents", operator, (_req, res) => {
    res.json({ agents: store.listAgents().map((a) => agentView(a, deps.isOnline(a.id))) });
  });

  router.get("/agents/:id", operator, (req, res) => {
    const agent = store.getAgent(req.params.id as string);
    if (!agent) throw new HubRequestError(404, `agent ${req.params.id} not found`);
    res.json({
      ...agentView(agent, deps.isOnline(agent.id)),
      deployments: store.listDeployments({ agentId: agent.id }).slice(0, 50),
      reports: store.listReports(agent.id, 20),
    });
  });

  // The audit log, newest first; `next` pages further back.
  router.get("/events", operator, (req, res) => {
    const query = parseRequest(EventsQuery, req.query, "query");
    const events = store.listEvents(query).map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
    const last = events.at(-1);
    res.json({ events, next: events.length === query.limit && last ? last.id : null });
  });

  return router;
}
