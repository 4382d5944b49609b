/**
 * Evaluates a parsed condition against a host. Semantics, as the README states them:
 * - `file_exists`, `service_running`, `command` ask the context (command: exit code 0 is true).
 * - `env_var('X')` alone is true when X is set and not empty; in a comparison it is X's value.
 * - A comparison with `current_version` uses version order on both sides (shared/versions.ts), so
 *   `current_version == '1.2'` holds on 1.2.0. Between other values: if one side is a number and
 *   the other reads as a number, they compare numerically; otherwise `==`/`!=` compare text
 *   exactly and `< <= > >=` use the same version order (`'r9' < 'r10'`).
 * - An unset env_var or an unknown current_version (nothing installed yet) equals nothing and
 *   orders with nothing: every comparison with it is false except `!=`, which is true.
 * - `and`/`or` short-circuit, so a `command(...)` on the far side runs only when it decides.
 */
import { compareVersions } from "../versions.js";
import {
  type ComparisonOperator,
  type ConditionExpr,
  formatCondition,
  quote,
  type ValueExpr,
} from "./ast.js";

export interface ConditionContext {
  fileExists(path: string): boolean | Promise<boolean>;
  serviceRunning(name: string): boolean | Promise<boolean>;
  env(name: string): string | undefined;
  runCommand(command: string): Promise<boolean>;
  /** The installed version; undefined before the first install. */
  currentVersion: string | undefined;
}

/** One host fact the evaluation looked at, for `--test-conditionals`. */
export interface Observation {
  /** The call as written canonically, e.g. `file_exists('/x')`. */
  call: string;
  value: boolean | string | undefined;
}

export interface ConditionExplanation {
  result: boolean;
  /** In evaluation order; calls skipped by short-circuiting are not listed. */
  observations: Observation[];
}

type Value = string | number | undefined;

export async function evaluateCondition(expr: ConditionExpr, ctx: ConditionContext): Promise<boolean> {
  return new Evaluation(ctx, () => {}).truth(expr);
}

export async function explainCondition(
  expr: ConditionExpr,
  ctx: ConditionContext,
): Promise<ConditionExplanation> {
  const observations: Observation[] = [];
  const result = await new Evaluation(ctx, (o) => observations.push(o)).truth(expr);
  return { result, observations };
}

/** `file_exists('/x') = false`, `env_var('HOME') = '/root'`, `env_var('NOPE') = (unset)`. */
export function formatObservation(o: Observation): string {
  const shown =
    o.value === undefined
      ? o.call === "current_version"
        ? "(none installed)"
        : "(unset)"
      : JSON.stringify(o.value);
  return `${o.call} = ${typeof o.value === "string" ? quote(o.value) : shown}`;
}

class Evaluation {
  constructor(
    private readonly ctx: ConditionContext,
    private readonly observe: (o: Observation) => void,
  ) {}

  async truth(expr: ConditionExpr): Promise<boolean> {
    switch (expr.kind) {
      case "predicate":
        return this.record(expr, await this.predicate(expr.name, expr.argument));
      case "env_var": {
        const value = this.value(expr);
        return value !== undefined && value !== "";
      }
      case "not":
        return !(await this.truth(expr.operand));
      case "and":
        return (await this.truth(expr.left)) && (await this.truth(expr.right));
      case "or":
        return (await this.truth(expr.left)) || (await this.truth(expr.right));
      case "compare":
        return compare(expr.op, expr.left, this.value(expr.left), expr.right, this.value(expr.right));
      case "current_version":
      case "string":
      case "number":
        // The parser rejects bare values, so reaching here means a hand-built tree.
        throw new TypeError(`${formatCondition(expr)} is a value, not a condition`);
    }
  }

  private predicate(name: "file_exists" | "service_running" | "command", argument: string) {
    if (name === "file_exists") return this.ctx.fileExists(argument);
    if (name === "service_running") return this.ctx.serviceRunning(argument);
    return this.ctx.runCommand(argument);
  }

  private value(expr: ConditionExpr): Value {
    switch (expr.kind) {
      case "string":
      case "number":
        return expr.value;
      case "env_var":
        return this.record(expr, this.ctx.env(expr.name));
      case "current_version":
        return this.record(expr, this.ctx.currentVersion);
      default:
        throw new TypeError(`${formatCondition(expr)} is a condition, not a value`);
    }
  }

  private record<T extends boolean | string | undefined>(expr: ConditionExpr, value: T): T {
    this.observe({ call: formatCondition(expr), value });
    return value;
  }
}

const NUMERIC = /^\s*-?\d+(\.\d+)?\s*$/;

function compare(
  op: ComparisonOperator,
  leftExpr: ValueExpr,
  left: Value,
  rightExpr: ValueExpr,
  right: Value,
): boolean {
  if (left === undefined || right === undefined) return op === "!=";
  const versions = leftExpr.kind === "current_version" || rightExpr.kind === "current_version";
  const numeric =
    !versions &&
    (typeof left === "number" || typeof right === "number") &&
    NUMERIC.test(String(left)) &&
    NUMERIC.test(String(right));
  let order: number;
  if (numeric) {
    order = Math.sign(Number(left) - Number(right));
  } else if (versions || (op !== "==" && op !== "!=")) {
    order = compareVersions(String(left), String(right));
  } else {
    order = String(left) === String(right) ? 0 : 1;
  }
  switch (op) {
    case "==":
      return order === 0;
    case "!=":
      return order !== 0;
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
  }
}
