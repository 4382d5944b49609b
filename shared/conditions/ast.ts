/** The typed syntax tree of a condition expression; `offset`/`end` are 0-based into its text. */

export type ComparisonOperator = "==" | "!=" | "<" | "<=" | ">" | ">=";

/** Functions that answer yes or no about the host. */
export type PredicateName = "file_exists" | "service_running" | "command";

interface Span {
  offset: number;
  end: number;
}

/** The nodes that stand for a value and may be compared. */
export type ValueExpr =
  | ({ kind: "env_var"; name: string } & Span)
  | ({ kind: "current_version" } & Span)
  | ({ kind: "string"; value: string } & Span)
  | ({ kind: "number"; value: number; text: string } & Span);

export type ConditionExpr =
  | ValueExpr
  | ({ kind: "predicate"; name: PredicateName; argument: string } & Span)
  | ({ kind: "compare"; op: ComparisonOperator; left: ValueExpr; right: ValueExpr } & Span)
  | ({ kind: "not"; operand: ConditionExpr } & Span)
  | ({ kind: "and" | "or"; left: ConditionExpr; right: ConditionExpr } & Span);

export function isValueExpr(expr: ConditionExpr): expr is ValueExpr {
  return (
    expr.kind === "env_var" ||
    expr.kind === "current_version" ||
    expr.kind === "string" ||
    expr.kind === "number"
  );
}

/** Whether a node can stand alone as a condition: a yes/no node, or env_var (true when set). */
export function isBooleanExpr(expr: ConditionExpr): boolean {
  return !isValueExpr(expr) || expr.kind === "env_var";
}

/** Whether the expression runs a `command('…')` anywhere (the only part a conditional's `timeout` bounds). */
export function runsCommand(expr: ConditionExpr): boolean {
  switch (expr.kind) {
    case "predicate":
      return expr.name === "command";
    case "not":
      return runsCommand(expr.operand);
    case "and":
    case "or":
      return runsCommand(expr.left) || runsCommand(expr.right);
    default:
      return false;
  }
}

/**
 * Renders a node back to canonical text, e.g. for `--test-conditionals` output. `shownCommand`
 * says how a `command('…')` argument is shown: a run's messages show its program only, as the
 * line may carry a secret.
 */
export function formatCondition(
  expr: ConditionExpr,
  shownCommand: (line: string) => string = (l) => l,
): string {
  const format = (e: ConditionExpr) => formatCondition(e, shownCommand);
  const wrap = (e: ConditionExpr, needsParens: ConditionExpr["kind"][]) =>
    needsParens.includes(e.kind) ? `(${format(e)})` : format(e);
  switch (expr.kind) {
    case "predicate":
      return `${expr.name}(${quote(expr.name === "command" ? shownCommand(expr.argument) : expr.argument)})`;
    case "env_var":
      return `env_var(${quote(expr.name)})`;
    case "current_version":
      return "current_version";
    case "string":
      return quote(expr.value);
    case "number":
      return expr.text;
    case "compare":
      return `${format(expr.left)} ${expr.op} ${format(expr.right)}`;
    case "not":
      return `not ${wrap(expr.operand, ["and", "or", "compare"])}`;
    case "and":
      return `${wrap(expr.left, ["or"])} and ${wrap(expr.right, ["or"])}`;
    case "or":
      return `${format(expr.left)} or ${format(expr.right)}`;
  }
}

export function quote(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r")}'`;
}
