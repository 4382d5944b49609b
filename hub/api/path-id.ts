import type { Router } from "express";
import { refuseOnceAuthorized } from "../auth/require-role.js";
import { HubRequestError } from "../errors.js";

/**
 * An id in the path (`/rollouts/:id`, `/agents/:id`, `/releases/:id`) read without spaces at its
 * ends, as the lists read an id in a filter (query-params.ts queryWord): no rollout, agent or
 * release id holds a space, and one pasted with a space (`ship-hub rollout show " 7fc643e9"`, copied
 * out of a table) answered "rollout  7fc643e9 not found" for a rollout that exists. One that is only
 * spaces names nothing: a 400 saying so, where it read "agent  not found" — once the route's role
 * check has passed, since express runs this before the route's own handlers and a caller without a
 * token got 400 where every other request of it gets 401.
 */
export function trimIdParam(router: Router, noun: "agent" | "release" | "rollout"): void {
  router.param("id", (req, res, next, id: string) => {
    req.params.id = id.trim();
    if (req.params.id === "")
      refuseOnceAuthorized(res, new HubRequestError(400, `path: the ${noun} id is empty (only white space)`));
    next();
  });
}
