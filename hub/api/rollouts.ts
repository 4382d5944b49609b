import { type Request, Router } from "express";
import * as z from "zod";
import {
  AbortRollout,
  AdvanceRollout,
  NoFields,
  PauseRollout,
  ResumeRollout,
  RolloutSpec,
} from "../../shared/api/bodies.js";
import { actorOf, requireRole } from "../auth/require-role.js";
import { HubRequestError } from "../errors.js";
import { offlineFailsAt, rolloutDetail, rolloutDetailOf, rolloutSummary } from "../rollouts/view.js";
import { isoTime } from "../shown-time.js";
import { rolloutStates } from "../store/store.js";
import type { ApiDeps } from "./deps.js";
import { trimIdParam } from "./path-id.js";
import { cursorText, queryCount, queryCursor, queryWord } from "./query-params.js";
import { parseOptionalBody, parseRequest } from "./validate.js";

const ListQuery = z.strictObject({
  state: z.enum(rolloutStates).optional(),
  /** Only this app's rollouts: filtered in the store, before the limit, so `more` stays true. */
  app: queryWord(100).optional(),
  limit: queryCount(1, 1000).default(100),
  /** The `next` of the page before: the rollouts older than its last one. */
  after: queryCursor().optional(),
});

export function rolloutRoutes(deps: ApiDeps): Router {
  const { store, tokens, engine } = deps;
  const shown = deps.shownTime ?? isoTime;
  const router = Router();
  trimIdParam(router, "rollout");
  const operator = requireRole(tokens, "operator");
  const detail = async (id: string) => {
    const rollout = await engine.requireRollout(id);
    // In a cluster an agent on another hub is online too: its stored presence says so.
    // Ids only: a 10,000-agent fleet's rows (labels, apps) are not read for a yes/no per agent.
    const stored = deps.sharedPresence ? new Set(await store.listOnlineAgentIds()) : undefined;
    return rolloutDetail(
      store,
      rollout,
      (agentId) => deps.isOnline(agentId) || stored?.has(agentId) === true,
      engine.offlineDeadline(rollout),
      await engine.advanceHold(rollout),
      shown,
    );
  };
  // The path may hold a unique prefix (the dashboard and CLI show 8 characters): the full id from here on.
  const idOf = async (req: Request) => (await engine.requireRollout(String(req.params.id))).id;

  // Not a rollout called "preview" ("rollout preview not found" read as one that is gone).
  router.get("/rollouts/preview", operator, () => {
    throw new HubRequestError(
      404,
      "no route GET /api/v1/rollouts/preview: the preview is POST /api/v1/rollouts/preview with the rollout's body",
    );
  });
  router.post("/rollouts/preview", operator, async (req, res) => {
    const spec = parseRequest(RolloutSpec, req.body);
    res.json(await engine.preview(spec));
  });

  router.post("/rollouts", operator, async (req, res) => {
    const spec = parseRequest(RolloutSpec, req.body);
    // Answered from what the creating transaction wrote: reading a 10,000-agent rollout back would
    // cost the database and this hub as much as their sends, while the cluster's hubs deliver.
    const created = await engine.createWithDeployments(spec, actorOf(res));
    const isOnline = (agentId: string) =>
      deps.isOnline(agentId) || (deps.sharedPresence === true && created.storedOnline.has(agentId));
    const deadline = engine.offlineDeadline(created.rollout);
    const view = rolloutDetailOf(
      created.rollout,
      created.release,
      created.deployments,
      isOnline,
      deadline && (await offlineFailsAt(store, created.rollout, created.deployments, isOnline, deadline)),
      0,
      0,
      undefined,
      shown,
    );
    // What the preview warned of (a downgrade), said again to a caller that skipped the preview.
    res.status(201).json(created.warnings.length > 0 ? { ...view, warnings: created.warnings } : view);
  });

  router.get("/rollouts", operator, async (req, res) => {
    const query = parseRequest(ListQuery, req.query, "query");
    // One more than asked: `more` tells a caller (`rollout list`) that the list was cut off.
    const found = await store.listRollouts({
      limit: query.limit + 1,
      ...(query.state ? { states: [query.state] } : {}),
      ...(query.app === undefined ? {} : { app: query.app }),
      ...(query.after === undefined ? {} : { after: query.after }),
    });
    const rollouts = found.slice(0, query.limit);
    const summaries = await Promise.all(
      rollouts.map(async (r) => rolloutSummary(store, r, await engine.advanceHold(r), shown)),
    );
    // Only when true: a list that was not cut off answers as before. `next` (as ?after=) reads on:
    // without it, `more` named rollouts past the 1,000th that no request could reach.
    const last = rollouts.at(-1);
    res.json({
      rollouts: summaries,
      ...(found.length > query.limit && last ? { more: true, next: cursorText(last) } : {}),
    });
  });

  router.get("/rollouts/:id", operator, async (req, res) => {
    parseRequest(NoFields, req.query, "query");
    res.json(await detail(await idOf(req)));
  });

  // Advance names the wave the caller is looking at (its `fromWave`, else the one read here before
  // the rollout is locked): of two concurrent advances from the same `fromWave`, on one hub or two,
  // the second finds the wave moved and gets 409. Without `fromWave` a request read after another
  // committed leaves the next wave, so the CLI and the dashboard always send it.
  // `decidedMsAgo` (the CLI sends how long ago its command started) closes the window between a
  // client's read and its request: a wave started since the caller decided is not left either.
  router.post("/rollouts/:id/advance", operator, async (req, res) => {
    const arrived = deps.now();
    const body = parseOptionalBody(AdvanceRollout, req.body);
    const seen = await engine.requireRollout(String(req.params.id));
    const decidedAt = body.decidedMsAgo === undefined ? undefined : arrived - body.decidedMsAgo;
    const advanced = await engine.advance(
      seen.id,
      actorOf(res),
      body.fromWave ?? seen.currentWave,
      decidedAt,
    );
    const view = await detail(advanced.rollout.id);
    // Passing a wave that tested nothing is said as a late pause is (the audit log records it too).
    res.json(advanced.untested === undefined ? view : { ...view, warnings: [advanced.untested] });
  });
  router.post("/rollouts/:id/pause", operator, async (req, res) => {
    const arrived = deps.now();
    const body = parseOptionalBody(PauseRollout, req.body);
    const decidedAt = body.decidedMsAgo === undefined ? undefined : arrived - body.decidedMsAgo;
    const paused = await engine.pause(await idOf(req), actorOf(res), {
      ...(body.fromWave === undefined ? {} : { wave: body.fromWave }),
      ...(decidedAt === undefined ? {} : { decidedAt }),
    });
    const view = await detail(paused.rollout.id);
    // As create's warnings: the CLI prints them on stderr, the dashboard beside its buttons.
    res.json(paused.late === undefined ? view : { ...view, warnings: [`paused ${paused.late}`] });
  });
  router.post("/rollouts/:id/resume", operator, async (req, res) => {
    const body = parseOptionalBody(ResumeRollout, req.body);
    const resumed = await engine.resume(await idOf(req), actorOf(res), body.failedSeen);
    const view = await detail(resumed.rollout.id);
    // Failures it accepted that no view showed before it (timeouts that fell due while paused) are
    // named, as a pass of a wave that tested nothing is: the CLI prints them, the dashboard shows them.
    const warnings = [resumed.timedOut, resumed.untested].filter((w): w is string => w !== undefined);
    // What it accepted, as the engine counted it: a view read after it cannot tell those from the
    // failures of a wave the resume started (auto-advance), which count toward the threshold.
    // `failedBefore`: the failures so far, accepted or (a pause by hand, not a halt) still counted.
    const answer = {
      ...view,
      acceptedFailures: resumed.acceptedFailures,
      failedBefore: resumed.failedBefore,
    };
    res.json(warnings.length === 0 ? answer : { ...answer, warnings });
  });
  // Abort as pause: never refused for coming late, but a late one is said (warnings).
  router.post("/rollouts/:id/abort", operator, async (req, res) => {
    const arrived = deps.now();
    const body = parseOptionalBody(AbortRollout, req.body);
    const decidedAt = body.decidedMsAgo === undefined ? undefined : arrived - body.decidedMsAgo;
    const aborted = await engine.abort(await idOf(req), actorOf(res), body.rollback, {
      ...(body.fromWave === undefined ? {} : { wave: body.fromWave }),
      ...(decidedAt === undefined ? {} : { decidedAt }),
    });
    const view = await detail(aborted.rollout.id);
    res.json(aborted.late === undefined ? view : { ...view, warnings: [`aborted ${aborted.late}`] });
  });

  return router;
}
