/**
 * `GET /events?subject=`: a rollout's events carry its full id (`<rollout>`, and `<rollout>:<agent>`
 * for its deployments), but the dashboard and the CLI show 8 characters and the rollout routes take
 * any unique prefix in either case. The filter takes the same forms, by the engine's one lookup
 * (`requireRollout`): an ambiguous prefix is its 409. A rollout's log holds its deployments' events
 * too (`withParts`): what happened to its agents is what happened in it. A subject no rollout answers
 * to (an agent, a release, an artifact's hash, or nothing known) is matched as written: an unknown
 * one lists no events, as before.
 */
import { HubRequestError } from "../errors.js";
import type { RolloutEngine } from "../rollouts/engine.js";
import type { AsyncStore } from "../store/async-store.js";

export interface EventSubject {
  subject: string;
  /** The subject is a rollout: its deployments' events (`<rollout>:<agent>`) belong to it. */
  withParts: boolean;
}

export async function eventSubject(
  store: Pick<AsyncStore, "listEvents" | "getRollout">,
  engine: Pick<RolloutEngine, "requireRollout">,
  subject: string,
): Promise<EventSubject> {
  // Something's events under this very subject (an agent id that looks like a rollout prefix):
  // what it names is not reinterpreted.
  if ((await store.listEvents({ subject, limit: 1 })).length > 0)
    return { subject, withParts: (await store.getRollout(subject)) !== undefined };
  const colon = subject.indexOf(":");
  const head = colon === -1 ? subject : subject.slice(0, colon);
  const tail = colon === -1 ? "" : subject.slice(colon);
  try {
    return { subject: `${(await engine.requireRollout(head)).id}${tail}`, withParts: tail === "" };
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404) return { subject, withParts: false };
    throw error;
  }
}
