/**
 * Evaluates a parsed condition against a host. Semantics, as the README states them:
 * - `file_exists`, `service_running`, `command` ask the context (command: exit code 0 is true).
 * - `env_var('X')` alone is true when X is set and not empty; in a comparison it is X's value.
 * - A comparison with `current_version` uses version order on both sides (shared/versions.ts), so
 *   `current_version == '1.2'` holds on 1.2.0. Between other values: if one side is a number and
 *   the other reads as a number, they compare numerically; otherwise `==`/`!=` compare text
 *   exactly and `< <= > >=` use the same version order (`'r9' < 'r10'`). A number compared as text
 *   or as a version is what is written: `current_version < 2.10` is `< '2.10'`, never `< 2.1`.
 * - An unset env_var or an unknown current_version (nothing installed yet) equals nothing and
 *   orders with nothing: every comparison with it is false except `!=`, which is true.
 * - An app in the directory that ship has no version for (installed by hand or another tool) is
 *   another matter: its version is not "nothing" but not known, so a comparison with it is
 *   undetermined, and so is what depends on it (`and`/`or`/`not` as in three-valued logic).
 *   evaluateCondition counts that as false; explainCondition says `undetermined` so the caller
 *   can decide (a manual stop asks a person rather than let a 1.x app take 2.0.0 unprepared).
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
  /** `timeoutSeconds`: the condition's own limit (its conditional's `timeout`), else the context's. */
  runCommand(command: string, timeoutSeconds?: number): Promise<boolean>;
  /** The installed version; undefined before the first install. */
  currentVersion: string | undefined;
  /** With no currentVersion: whether an app is there all the same, its version unknown to ship. */
  installedByOthers?(): Promise<boolean>;
}

/** One host fact the evaluation looked at, for `--test-conditionals`. */
export interface Observation {
  /** The call as written canonically, e.g. `file_exists('/x')`. */
  call: string;
  value: boolean | string | undefined;
  /** current_version of an app ship did not install: not "none", unknown. */
  unknown?: true;
  /** A `command('…')` call as a run's log quotes it (explainCondition's `shownCommand`). */
  said?: string;
  /** An `env_var('…')` read: its value may be a secret of the agent's environment. */
  env?: true;
}

export interface ConditionExplanation {
  /** False when undetermined. */
  result: boolean;
  /** The result depends on the version of an app ship did not install (see installedByOthers). */
  undetermined: boolean;
  /** In evaluation order; calls skipped by short-circuiting are not listed. */
  observations: Observation[];
}

/** A value or truth that depends on the version of an app ship did not install. */
const UNKNOWN = Symbol("unknown installed version");
type Value = string | number | undefined | typeof UNKNOWN;
type Truth = boolean | typeof UNKNOWN;

export async function evaluateCondition(expr: ConditionExpr, ctx: ConditionContext): Promise<boolean> {
  return (await new Evaluation(ctx, () => {}).truth(expr)) === true;
}

export async function explainCondition(
  expr: ConditionExpr,
  ctx: ConditionContext,
  options: { commandTimeoutSeconds?: number; shownCommand?: (line: string) => string } = {},
): Promise<ConditionExplanation> {
  const observations: Observation[] = [];
  const truth = await new Evaluation(
    ctx,
    (o) => observations.push(o),
    options.commandTimeoutSeconds,
    options.shownCommand,
  ).truth(expr);
  return { result: truth === true, undetermined: truth === UNKNOWN, observations };
}

/** `file_exists('/x') = false`, `env_var('HOME') = '/root'`, `env_var('NOPE') = (unset)`. */
export function formatObservation(o: Observation): string {
  return observationText(o, o.call);
}

/**
 * As formatObservation, for the run's log: a command('…') quoted by its program, and an env_var's
 * value left out. The agent's environment holds secrets (the hub token, an SFTP passphrase_env,
 * cloud credentials) that commands never see; `--test-conditionals` shows the value to whoever runs it.
 */
export function saidObservation(o: Observation): string {
  const call = o.said ?? o.call;
  if (o.env === true && typeof o.value === "string") return `${call} = (set; its value is not logged)`;
  return observationText(o, call);
}

function observationText(o: Observation, call: string): string {
  const shown =
    o.value === undefined
      ? o.call === "current_version"
        ? o.unknown
          ? "(unknown: an app ship did not install)"
          : "(none installed)"
        : "(unset)"
      : JSON.stringify(o.value);
  return `${call} = ${typeof o.value === "string" ? quote(o.value) : shown}`;
}

class Evaluation {
  constructor(
    private readonly ctx: ConditionContext,
    private readonly observe: (o: Observation) => void,
    private readonly commandTimeoutSeconds?: number,
    private readonly shownCommand?: (line: string) => string,
  ) {}

  async truth(expr: ConditionExpr): Promise<Truth> {
    switch (expr.kind) {
      case "predicate":
        return this.record(expr, await this.predicate(expr.name, expr.argument));
      case "env_var": {
        const value = await this.value(expr);
        return value !== undefined && value !== "";
      }
      case "not": {
        const operand = await this.truth(expr.operand);
        return operand === UNKNOWN ? UNKNOWN : !operand;
      }
      case "and": {
        // Short-circuits on false only: an undetermined side still needs the other.
        const left = await this.truth(expr.left);
        if (left === false) return false;
        const right = await this.truth(expr.right);
        return right === false ? false : left === true && right === true ? true : UNKNOWN;
      }
      case "or": {
        const left = await this.truth(expr.left);
        if (left === true) return true;
        const right = await this.truth(expr.right);
        return right === true ? true : left === false && right === false ? false : UNKNOWN;
      }
      case "compare": {
        const left = await this.value(expr.left);
        const right = await this.value(expr.right);
        if (left === UNKNOWN || right === UNKNOWN) return UNKNOWN;
        return compare(expr.op, expr.left, left, expr.right, right);
      }
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
    return this.ctx.runCommand(argument, this.commandTimeoutSeconds);
  }

  private async value(expr: ConditionExpr): Promise<Value> {
    switch (expr.kind) {
      case "string":
      case "number":
        return expr.value;
      case "env_var":
        return this.record(expr, this.ctx.env(expr.name), { env: true });
      case "current_version": {
        if (this.ctx.currentVersion === undefined && (await this.ctx.installedByOthers?.()) === true) {
          this.observe({ call: formatCondition(expr), value: undefined, unknown: true });
          return UNKNOWN;
        }
        return this.record(expr, this.ctx.currentVersion);
      }
      default:
        throw new TypeError(`${formatCondition(expr)} is a condition, not a value`);
    }
  }

  private record<T extends boolean | string | undefined>(
    expr: ConditionExpr,
    value: T,
    extra: Pick<Observation, "env"> = {},
  ): T {
    const said =
      this.shownCommand !== undefined && expr.kind === "predicate" && expr.name === "command"
        ? { said: formatCondition(expr, this.shownCommand) }
        : {};
    this.observe({ call: formatCondition(expr), value, ...said, ...extra });
    return value;
  }
}

const NUMERIC = /^\s*-?\d+(\.\d+)?\s*$/;

function compare(
  op: ComparisonOperator,
  leftExpr: ValueExpr,
  left: string | number | undefined,
  rightExpr: ValueExpr,
  right: string | number | undefined,
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
    order = compareVersions(asText(leftExpr, left), asText(rightExpr, right));
  } else {
    order = asText(leftExpr, left) === asText(rightExpr, right) ? 0 : 1;
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

/**
 * A value compared as text or as a version. A number is its written text: printed back from its
 * value, `current_version < 2.10` asked `< 2.1`, so a 2.5.0 app passed the guard it was written for.
 */
function asText(expr: ValueExpr, value: string | number): string {
  return expr.kind === "number" ? expr.text : String(value);
}
