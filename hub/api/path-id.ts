import type { Router } from "express";
import { UNPRINTABLE } from "../../shared/schema/unprintable.js";
import { textStart } from "../../shared/text-cut.js";
import { refuseOnceAuthorized } from "../auth/require-role.js";
import { HubRequestError } from "../errors.js";
import { quotedText } from "../quoted-text.js";

/** The longest id of the three: an agent's (shared/protocol/agent-id.ts); rollouts and releases have uuids. */
const LONGEST_ID = 200;

/**
 * Why `id` can name no rollout, agent or release, or undefined. Said back raw, a right-to-left
 * override in it turned the 404's line around where the dashboard or a log shows it, and a
 * 5,000-character one came back whole: quoted, escaped and cut here.
 */
function impossibleId(noun: string, id: string): string | undefined {
  const quoted = quotedText(id.length > 40 ? `${textStart(id, 40)}…` : id);
  if (UNPRINTABLE.test(id))
    return `path: the ${noun} id ${quoted} holds a control character, a bidirectional override or an invisible format character, which no id holds`;
  if (id.length > LONGEST_ID)
    return `path: the ${noun} id ${quoted} is ${id.length} characters long; no id is longer than ${LONGEST_ID}`;
  return undefined;
}

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
    const impossible =
      req.params.id === ""
        ? `path: the ${noun} id is empty (only white space)`
        : impossibleId(noun, req.params.id);
    if (impossible !== undefined) refuseOnceAuthorized(res, new HubRequestError(400, impossible));
    next();
  });
}
