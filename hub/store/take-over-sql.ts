/**
 * The take-over rule (`hub/rollouts/take-over-rule.ts`) as SQL, for the stores' set-based count of
 * what a rollback would act on (`rollbackable`): one builder for SQLite and PostgreSQL, compiled
 * from the same conditions the engine evaluates, so the rollout list and the engine cannot drift.
 * The dialects differ only in how an agent's announced apps are searched.
 */
import {
  ACTS_ON_UNMARKED,
  type Cond,
  MARKED_TAKEN_OVER,
  MAY_HAVE_REACHED,
  type Ref,
  TOOK_OVER_BACK_ON,
} from "../rollouts/take-over-rule.js";

export interface TakeOverDialect {
  /** SQL true when agent row `a` announces hub release `releaseId` (an SQL expression) among its apps. */
  agentRuns(releaseId: string): string;
}

const COLUMNS: Record<string, string> = {
  attempts: "attempts",
  state: "state",
  wave: "wave",
  previousRelease: "previous_release",
  error: "error",
  currentWave: "current_wave",
  releaseId: "release_id",
};

function column(ref: Ref): string {
  const [alias, field] = ref.split(".") as [string, string];
  const name = COLUMNS[field];
  if (name === undefined) throw new Error(`take-over rule: no column for ${ref}`);
  return `${alias}.${name}`;
}

/** A string literal: the rule's texts and states are the hub's own constants, quoted all the same. */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** `c` as an SQL condition that is never NULL (a null error starts with nothing, as in `holds`). */
export function conditionSql(c: Cond): string {
  if ("in" in c)
    return c.states.length === 0 ? "FALSE" : `${column(c.in)} IN (${c.states.map(literal).join(", ")})`;
  if ("positive" in c) return `${column(c.positive)} > 0`;
  if ("atMost" in c) return `${column(c.atMost[0])} <= ${column(c.atMost[1])}`;
  if ("same" in c) return `${column(c.same[0])} = ${column(c.same[1])}`;
  if ("known" in c) return `${column(c.known)} IS NOT NULL`;
  if ("prefix" in c)
    return `substr(COALESCE(${column(c.prefix)}, ''), 1, ${c.text.length}) = ${literal(c.text)}`;
  if ("all" in c) return `(${c.all.map(conditionSql).join(" AND ")})`;
  if ("any" in c) return `(${c.any.map(conditionSql).join(" OR ")})`;
  return `NOT ${conditionSql(c.not)}`;
}

/**
 * Whether a rollback of rollout `r` acts on its deployment `d` (`rollbackActsOn`): one it may have
 * delivered, and, when an earlier rollback found it taken over, only if its agent runs `r`'s release
 * again and no later rollout of the app holds it (`releasedFromTakeOver`). Reads `d` and `r`.
 */
export function rollbackActsOnSql(dialect: TakeOverDialect): string {
  const held = `EXISTS (SELECT 1 FROM deployments l JOIN rollouts lr ON lr.id = l.rollout_id
      WHERE l.agent_id = d.agent_id AND lr.created > r.created
        AND lr.release_id IN (SELECT o.id FROM releases o
          WHERE o.app = (SELECT b.app FROM releases b WHERE b.id = r.release_id))
        AND ${conditionSql(TOOK_OVER_BACK_ON)})`;
  const released = `(EXISTS (SELECT 1 FROM agents a WHERE a.id = d.agent_id AND ${dialect.agentRuns("r.release_id")})
      AND NOT ${held})`;
  return `(${conditionSql(MAY_HAVE_REACHED)} AND CASE WHEN ${conditionSql(MARKED_TAKEN_OVER)} THEN ${released}
    ELSE ${conditionSql(ACTS_ON_UNMARKED)} END)`;
}
