/**
 * The take-over rule as data, so the engine (`holds`, over records) and the stores' set-based count
 * (`hub/store/take-over-sql.ts`, compiled to SQL for SQLite and PostgreSQL alike) read one definition:
 * written three times (JS, SQLite, PostgreSQL), the copies drifted, and the rollout list offered a
 * rollback the rollout page and the engine did not (or the other way round).
 *
 * Names: `d` a deployment of the rollout being rolled back, `r` that rollout; `l` a deployment of a
 * later rollout `lr` of the same app, of the same agent.
 */
import type { DeploymentRecord, RolloutRecord } from "../store/store.js";
import {
  DELIVERABLE_DEPLOYMENT_STATES,
  REDELIVERABLE_DEPLOYMENT_STATES,
  ROLLBACK_DELIVERABLE_STATES,
  RUNNING_ROLLOUT_STATES,
  SUCCEEDED_DEPLOYMENT_STATES,
} from "./states.js";

type RowField = "attempts" | "state" | "wave" | "previousRelease" | "error";
type RolloutField = "state" | "currentWave" | "releaseId";
export type Ref = `${"d" | "l"}.${RowField}` | `${"r" | "lr"}.${RolloutField}`;

export type Cond =
  | { readonly in: Ref; readonly states: readonly string[] }
  /** A count above zero. */
  | { readonly positive: Ref }
  | { readonly atMost: readonly [Ref, Ref] }
  | { readonly same: readonly [Ref, Ref] }
  /** Not null. */
  | { readonly known: Ref }
  /** Starts with `text`; a null never does. */
  | { readonly prefix: Ref; readonly text: string }
  | { readonly all: readonly Cond[] }
  | { readonly any: readonly Cond[] }
  | { readonly not: Cond };

export interface Bindings {
  d?: Pick<DeploymentRecord, RowField>;
  l?: Pick<DeploymentRecord, RowField>;
  r?: Pick<RolloutRecord, "releaseId"> & Partial<Pick<RolloutRecord, RolloutField>>;
  lr?: Pick<RolloutRecord, RolloutField>;
}

type Value = string | number | null;
/** A condition as a function of what it reads: `Bindings`, or one deployment row (`rowTest`). */
type Test<B> = (b: B) => boolean;
type Reader<B> = (b: B) => Value;

/**
 * `c` turned once into nested closures over its references (split once, state lists made sets).
 * Walking the tree per evaluation, splitting each reference and copying each deployment into a
 * bindings object cost a wave start's `POST /rollouts` answer ~2/3 of its CPU at 10,000 agents.
 * The semantics are the interpreter's that `conditionSql` mirrors: change both together.
 */
function compile<B>(c: Cond, reader: (ref: Ref) => Reader<B>): Test<B> {
  if ("in" in c) {
    const get = reader(c.in);
    const states = new Set(c.states);
    return (b) => states.has(String(get(b)));
  }
  if ("positive" in c) {
    const get = reader(c.positive);
    return (b) => Number(get(b)) > 0;
  }
  if ("atMost" in c) {
    const [low, high] = [reader(c.atMost[0]), reader(c.atMost[1])];
    return (b) => Number(low(b)) <= Number(high(b));
  }
  if ("same" in c) {
    const [one, other] = [reader(c.same[0]), reader(c.same[1])];
    return (b) => one(b) === other(b);
  }
  if ("known" in c) {
    const get = reader(c.known);
    return (b) => get(b) !== null;
  }
  if ("prefix" in c) {
    const [get, text] = [reader(c.prefix), c.text];
    return (b) => String(get(b) ?? "").startsWith(text);
  }
  if ("all" in c) {
    const parts = c.all.map((x) => compile(x, reader));
    return (b) => parts.every((part) => part(b));
  }
  if ("any" in c) {
    const parts = c.any.map((x) => compile(x, reader));
    return (b) => parts.some((part) => part(b));
  }
  const inner = compile(c.not, reader);
  return (b) => !inner(b);
}

function split(ref: Ref): [keyof Bindings, RowField & RolloutField] {
  return ref.split(".") as [keyof Bindings, RowField & RolloutField];
}

function bound(value: Value | undefined, ref: Ref): Value {
  if (value === undefined) throw new Error(`take-over rule: ${ref} is not bound`);
  return value;
}

const bindingsReader = (ref: Ref): Reader<Bindings> => {
  const [alias, field] = split(ref);
  return (b) => bound((b[alias] as Record<string, Value | undefined> | undefined)?.[field], ref);
};

const compiled = new WeakMap<Cond, Test<Bindings>>();

/** Whether `c` holds for the bound records: the rule as the engine reads it. */
export function holds(c: Cond, b: Bindings): boolean {
  let test = compiled.get(c);
  if (test === undefined) {
    test = compile(c, bindingsReader);
    compiled.set(c, test);
  }
  return test(b);
}

/**
 * `c`, a condition on `d` alone that reads only `fields`, as a test of one deployment row: no
 * bindings object per row. Another reference throws here, when the module loads, not per row.
 */
export function rowTest<F extends RowField>(c: Cond, fields: readonly F[]): Test<Pick<DeploymentRecord, F>> {
  return compile(c, (ref) => {
    const [alias, field] = split(ref);
    if (alias !== "d" || !(fields as readonly string[]).includes(field))
      throw new Error(`take-over rule: ${ref} is not among d.${fields.join(", d.")}`);
    return (d) => bound(d[field as F], ref);
  });
}

/**
 * A later rollout's deployment in these states owns its agent while due (its rollout running and
 * the wave reached): it is about to be sent.
 */
export const TAKE_OVER_DUE_STATES: readonly DeploymentRecord["state"][] = [
  ...DELIVERABLE_DEPLOYMENT_STATES,
  ...REDELIVERABLE_DEPLOYMENT_STATES,
];
/** ...and in these once sent: under way (sent, updating, owed again, a rollback of it owed). */
export const TAKE_OVER_UNDER_WAY_STATES: readonly DeploymentRecord["state"][] = [
  ...TAKE_OVER_DUE_STATES,
  ...ROLLBACK_DELIVERABLE_STATES,
];

/** `l` is owed its agent now: its rollout runs, its wave is reached, and it is not yet answered. */
const DUE: Cond = {
  all: [
    { in: "lr.state", states: RUNNING_ROLLOUT_STATES },
    { atMost: ["l.wave", "lr.currentWave"] },
    { in: "l.state", states: TAKE_OVER_DUE_STATES },
  ],
};
/** `l` reached its agent: handed to it at least once, or found it on its release already. */
const REACHED: Cond = {
  any: [{ positive: "l.attempts" }, { in: "l.state", states: SUCCEEDED_DEPLOYMENT_STATES }],
};

/** `l` took its agent over, while the agent runs some other release than `r`'s. */
export const TOOK_OVER_AWAY: Cond = { any: [DUE, REACHED] };
/**
 * `l` took its agent over, though the agent says it runs `r`'s release again: only while it is
 * under way (the agent is about to leave `r`'s release), or when `lr` rolls out that same release.
 * A later update that is over and left the agent on `r`'s release (it failed and the host restored
 * it, or `lr`'s rollback took it back) took nothing over.
 */
export const TOOK_OVER_BACK_ON: Cond = {
  any: [
    DUE,
    {
      all: [
        REACHED,
        {
          any: [
            { same: ["lr.releaseId", "r.releaseId"] },
            { in: "l.state", states: TAKE_OVER_UNDER_WAY_STATES },
          ],
        },
      ],
    },
  ],
};

/**
 * Timed out before it was ever handed to its agent (no attempt): the agent cannot have installed the
 * release, so there is nothing to take back; it stays a failure to start, not "rolled back".
 */
export const NEVER_SENT_STATES = REDELIVERABLE_DEPLOYMENT_STATES;
/** Starts the error of a deployment the hub could not send back; the views count these. */
export const ROLLBACK_IMPOSSIBLE = "not rolled back";

/**
 * Starts the error of a deployment a rollback left on a later rollout's release: that rollout took
 * its agent over. It holds only while a later rollout owns the agent (`TOOK_OVER_BACK_ON`): once that
 * one is over and the agent runs this rollout's release again, a later rollback of this one sends it
 * back (`releasedFromTakeOver`). It keeps its previous release, so the prefix, not a missing one,
 * says it.
 */
export const ROLLBACK_TAKEN_OVER = `${ROLLBACK_IMPOSSIBLE}: a later rollout of the app`;

/** An earlier rollback found `d`'s agent taken over by a later rollout. */
export const MARKED_TAKEN_OVER: Cond = { prefix: "d.error", text: ROLLBACK_TAKEN_OVER };
/**
 * Not marked taken over, a rollback acts on `d` when it can send it back (its previous release is
 * known) or has not yet said, once, that it cannot (a second rollback has nothing new to say).
 */
export const ACTS_ON_UNMARKED: Cond = {
  any: [{ known: "d.previousRelease" }, { not: { prefix: "d.error", text: ROLLBACK_IMPOSSIBLE } }],
};

/** `d` may have reached its agent: a rollback has something to take back. */
export const MAY_HAVE_REACHED: Cond = {
  not: { all: [{ not: { positive: "d.attempts" } }, { in: "d.state", states: NEVER_SENT_STATES }] },
};
