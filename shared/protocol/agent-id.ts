/**
 * What an agent id may be, in one place: the agent's `[hub] agent_id` (and the host id it defaults
 * to), `ship-hub token create --agent`, the hub's token service, a rollout's `agents` wave and the
 * channel's hello all check this rule, so no token is issued for an id the channel then refuses.
 * Host names and /etc/machine-id fit it; a space, a comma (the CLI's `agents:a,b` list) or a colon
 * (a deployment id is `ROLLOUT:AGENT`) would not round-trip, so they are refused at the door.
 */

import * as z from "zod";
import { nameRule } from "../schema/name-rule.js";
import { HOLDS_UNSEEN, isBlankName, shownNameProblem } from "../schema/shows-nothing.js";
import { UNPRINTABLE } from "../schema/unprintable.js";
import { textStart } from "../text-cut.js";

const rule = nameRule(
  200,
  /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
  "letters, digits, '.', '_' or '-', starting with a letter or digit",
);

/** `id` quoted for a one-line message: JSON escapes, and a long one cut at 40 characters. */
export function quotedAgentId(id: string): string {
  return JSON.stringify(id.length > 40 ? `${textStart(id, 40)}…` : id);
}

/** Why `id` is not an agent id (without naming where it came from), or undefined when it is one. */
export const agentIdProblem = rule.problem;

export const AgentId = rule.schema;

const BLANK_LABEL_NAME =
  "a label name must show something: it holds only white space or invisible characters (a zero-width space, a Hangul filler …), which no --selector, labels wave or dashboard filter can name";

const labelValue = z.string().max(200, "a label value must be at most 200 characters");

/**
 * An agent's labels, as a rollout's selector and labels waves name them: the hub matches them, and a
 * config the hello would refuse must be refused when it is read instead.
 */
export const AgentLabels = z.record(
  z.string().max(100, "a label name must be at most 100 characters"),
  labelValue,
);

/**
 * Labels one agent may carry. A hello of 3,000 labels (900 KB, under max_message_kb) was stored
 * whole and carried by every GET /agents page from then on; an agent has dozens. ship.toml refuses
 * more; a hello keeps the first ones (a hub refusing it would drop the agent from the fleet).
 */
export const MAX_LABELS = 100;

/**
 * The labels a hello carries, each name and value without spaces at its ends: `--selector`, a
 * labels wave's `K=V`, `?label=` and the dashboard's forms all trim what they are given, so
 * `env = " prod "` or `" env" = "prod"` (which an agent's config now refuses, but an agent
 * configured before that still announces) could be chosen by nothing. The hub stores, shows and
 * matches such a label trimmed (`env=prod`), names and values by one rule.
 */
export const HelloLabels = AgentLabels.transform((labels) =>
  Object.fromEntries(Object.entries(trimmedLabels(labels)).slice(0, MAX_LABELS)),
);

/**
 * `labels` with names and values trimmed. Two names that trim alike (`env` and ` env`): the one
 * written without spaces is kept, as the label ship.toml's rule would have let through; else the
 * first. An agent carries one value per label, so the other cannot be kept beside it.
 */
function trimmedLabels(labels: Record<string, string>): Record<string, string> {
  // A Map: a label may be called `constructor` or `__proto__`, which an object literal misreads.
  const trimmed = new Map<string, string>();
  for (const [name, value] of Object.entries(labels))
    if (name === name.trim()) trimmed.set(name, value.trim());
  for (const [name, value] of Object.entries(labels))
    if (!trimmed.has(name.trim())) trimmed.set(name.trim(), value.trim());
  return Object.fromEntries(trimmed);
}

/**
 * The labels a rollout's selector or labels wave asks for (the API's body, a `--spec` file), each
 * name and value without spaces at its ends, as the hello's: `{" ring ": "main"}` was kept as
 * written and matched no agent (the hub trims what agents announce), a 201 for a rollout of nobody
 * or a wave left empty. Two names that trim alike are refused, naming the name: an agent carries
 * one value per label, so none could match both (as `--selector ring=a --selector ring=b`).
 */
export const RequestedLabels = AgentLabels.superRefine((labels, ctx) => {
  // More than an agent may carry matches nobody: said, not searched for.
  if (Object.keys(labels).length > MAX_LABELS) {
    ctx.addIssue({ code: "custom", message: `at most ${MAX_LABELS} labels (an agent carries no more)` });
    return;
  }
  const seen = new Map<string, string>();
  for (const name of Object.keys(labels)) {
    // No agent configured since ConfiguredLabels can carry it, and `--selector`, a labels wave's
    // K=V and the dashboard's filter cannot name it: `{" ": "x"}` was taken as a label named "".
    if (isBlankName(name)) {
      ctx.addIssue({ code: "custom", path: [name], message: BLANK_LABEL_NAME });
      continue;
    }
    const earlier = seen.get(name.trim());
    if (earlier !== undefined)
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: `${JSON.stringify(earlier)} and ${JSON.stringify(name)} name one label (spaces at a name's ends are no part of it): give it once`,
      });
    else seen.set(name.trim(), name);
  }
}).transform(trimmedLabels);

/**
 * `[hub] labels` as ship.toml may write them: the hello's bounds, and a name an operator can select.
 * `labels = { "" = "x" }` or a name holding '=', ',' or a space was announced and stored, but no
 * `--selector KEY=VALUE`, labels wave (`label:K=V,K=V`) or dashboard filter could name it, so the
 * host was left out of every rollout that meant it. The hello keeps the looser rule: a hub refusing
 * the hellos of agents configured before this would drop them from the fleet.
 */
export const ConfiguredLabels = z
  .record(
    z
      .string()
      .max(100, "a label name must be at most 100 characters")
      .regex(
        /^[^\s=,]+$/u,
        "a label name must not be empty or hold '=', ',' or white space (--selector KEY=VALUE and a labels wave's K=V,K=V could not name it)",
      )
      .refine(
        // Said once: white space is the pattern's above.
        (name) => /\s/u.test(name) || (!HOLDS_UNSEEN.test(name) && !UNPRINTABLE.test(name)),
        "a label name must not hold a control character or an invisible one (a zero-width space, a Hangul filler …): the dashboard and the CLI print it, and it reads as another label",
      ),
    labelValue
      .refine(
        (value) => value === value.trim(),
        "a label value must not begin or end with white space (--selector KEY=VALUE, a labels wave's K=V and the dashboard's forms trim what they are given, so none could choose it)",
      )
      .refine(
        // Said once: spaces at the ends are the refinement above's.
        (value) => value === "" || value !== value.trim() || shownNameProblem(value) === undefined,
        "a label value must not hold a control character, nor begin or end with an invisible one (a zero-width space, a Hangul filler …): the dashboard and the CLI print it, where it reads as another value",
      ),
  )
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, {
    message: `at most ${MAX_LABELS} labels (the hub keeps no more of a hello's)`,
  });
