import { type Request, Router } from "express";
import { z } from "zod";
import { AbortRollout, RolloutSpec } from "../../shared/api/bodies.js";
import { actorOf, requireRole } from "../auth/require-role.js";
import { rolloutDetail, rolloutSummary } from "../rollouts/view.js";
import { rolloutStates } from "../store/store.js";
import type { ApiDeps } from "./deps.js";
import { parseRequest } from "./validate.js";

const ListQuery = z.object({
  state: z.enum(rolloutStates).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export function rolloutRoutes(deps: ApiDeps): Router {
  const { store, tokens, engine } = deps;
  const router = Router();
  const operator = requireRole(tokens, "operator");
  const detail = (id: string) => rolloutDetail(store, engine.requireRollout(id), deps.isOnline);
  // The path may hold a unique prefix (the dashboard and CLI show 8 characters): the full id from here on.
  const idOf = (req: Request) => engine.requireRollout(String(req.params.id)).id;

  router.post("/rollouts/preview", operator, (req, res) => {
    const spec = parseRequest(RolloutSpec, req.body);
    res.json(engine.preview(spec));
  });

  router.post("/rollouts", operator, (req, res) => {
    const spec = parseRequest(RolloutSpec, req.body);
    const rollout = engine.create(spec, actorOf(res));
    res.status(201).json(detail(rollout.id));
  });

  router.get("/rollouts", operator, (req, res) => {
    const query = parseRequest(ListQuery, req.query, "query");
    const rollouts = store.listRollouts({
      limit: query.limit,
      ...(query.state ? { states: [query.state] } : {}),
    });
    res.json({ rollouts: rollouts.map((r) => rolloutSummary(store, r)) });
  });

  router.get("/rollouts/:id", operator, (req, res) => {
    res.json(detail(idOf(req)));
  });

  router.post("/rollouts/:id/advance", operator, (req, res) => {
    res.json(detail(engine.advance(idOf(req), actorOf(res)).id));
  });
  router.post("/rollouts/:id/pause", operator, (req, res) => {
    res.json(detail(engine.pause(idOf(req), actorOf(res)).id));
  });
  router.post("/rollouts/:id/resume", operator, (req, res) => {
    res.json(detail(engine.resume(idOf(req), actorOf(res)).id));
  });
  router.post("/rollouts/:id/abort", operator, (req, res) => {
    const body = parseRequest(AbortRollout, req.body ?? {});
    res.json(detail(engine.abort(idOf(req), actorOf(res), body.rollback).id));
  });

  return router;
}
