/**
 * Recursive-descent parser for manifest conditions and rollout criteria. Grammar, loosest first:
 *
 *   or         := and (("or" | "||") and)*
 *   and        := comparison (("and" | "&&") comparison)*
 *   comparison := unary (("==" | "!=" | "<" | "<=" | ">" | ">=") unary)?
 *   unary      := ("not" | "!") unary | primary
 *   primary    := NAME "(" STRING ")" | "current_version" | STRING | NUMBER | "(" or ")"
 *
 * `not` binds tighter than a comparison (as `!` does in C), so `not a == b` would negate a value
 * before comparing; that is rejected with a hint to write `not (a == b)`. Comparisons do not chain.
 * Types are checked here, so a condition that parses also evaluates without type errors.
 */

import { serviceName } from "../schema/service-name.js";
import {
  type ComparisonOperator,
  type ConditionExpr,
  isBooleanExpr,
  isValueExpr,
  type PredicateName,
  type ValueExpr,
} from "./ast.js";
import { lex, type Token } from "./lex.js";
import { ConditionSyntaxError } from "./syntax-error.js";

export { ConditionSyntaxError } from "./syntax-error.js";

const PREDICATES: readonly PredicateName[] = ["file_exists", "service_running", "command"];
const FUNCTIONS = [...PREDICATES, "env_var"] as const;
const COMPARISONS: readonly string[] = ["==", "!=", "<", "<=", ">", ">="];
const KEYWORDS = { and: "and", or: "or", not: "not" } as const;

/**
 * How deep a condition may nest (parentheses, `not`, and/or chains alike). Real conditions nest a
 * few levels; without a bound, 5,000 '(' overflowed the stack (a 500 at the hub, a crash here).
 */
export const MAX_CONDITION_DEPTH = 100;

export function parseCondition(text: string): ConditionExpr {
  const parser = new Parser(lex(text));
  if (parser.peek().kind === "eof") throw new ConditionSyntaxError("empty condition", 0);
  const expr = parser.parseOr();
  const rest = parser.peek();
  if (rest.kind !== "eof") {
    const what = rest.kind === "op" && rest.op === ")" ? "unbalanced ')'" : `unexpected ${describe(rest)}`;
    throw new ConditionSyntaxError(`${what} after a complete condition`, rest.offset);
  }
  requireBoolean(expr, "a condition");
  return expr;
}

class Parser {
  private pos = 0;
  /** Open parentheses and `not`s around the current token: bounds the parser's own recursion. */
  private nesting = 0;
  /** Each parsed node's tree depth: bounds what evaluation (recursive too) will walk. */
  private readonly depths = new WeakMap<ConditionExpr, number>();
  constructor(private readonly tokens: Token[]) {}

  private depthOf(expr: ConditionExpr): number {
    return this.depths.get(expr) ?? 1;
  }

  private withDepth<E extends ConditionExpr>(expr: E, depth: number): E {
    if (depth > MAX_CONDITION_DEPTH)
      throw new ConditionSyntaxError(
        `more than ${MAX_CONDITION_DEPTH} levels of nesting and chained and/or`,
        expr.offset,
      );
    this.depths.set(expr, depth);
    return expr;
  }

  private enter(token: Token): void {
    if (++this.nesting > MAX_CONDITION_DEPTH)
      throw new ConditionSyntaxError(`nested deeper than ${MAX_CONDITION_DEPTH} levels`, token.offset);
  }

  peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== "eof") this.pos++;
    return token;
  }

  private keyword(token: Token): keyof typeof KEYWORDS | undefined {
    if (token.kind === "ident") {
      const lower = token.name.toLowerCase();
      if (lower === "and" || lower === "or" || lower === "not") return lower;
    }
    if (token.kind === "op") {
      if (token.op === "&&") return "and";
      if (token.op === "||") return "or";
      if (token.op === "!") return "not";
    }
    return undefined;
  }

  parseOr(): ConditionExpr {
    return this.parseBinary("or", () => this.parseAnd());
  }

  private parseAnd(): ConditionExpr {
    return this.parseBinary("and", () => this.parseComparison());
  }

  private parseBinary(kind: "and" | "or", operand: () => ConditionExpr): ConditionExpr {
    let left = operand();
    while (this.keyword(this.peek()) === kind) {
      requireBoolean(left, `an operand of '${kind}'`);
      this.next();
      const right = operand();
      requireBoolean(right, `an operand of '${kind}'`);
      const depth = 1 + Math.max(this.depthOf(left), this.depthOf(right));
      left = this.withDepth({ kind, left, right, offset: left.offset, end: right.end }, depth);
    }
    return left;
  }

  private parseUnary(): ConditionExpr {
    const token = this.peek();
    if (this.keyword(token) === "not") {
      this.next();
      this.enter(token);
      const operand = this.parseUnary();
      this.nesting--;
      const after = this.peek();
      if (isValueExpr(operand) && after.kind === "op" && COMPARISONS.includes(after.op)) {
        throw new ConditionSyntaxError(
          `'not' binds tighter than '${after.op}'; write not (... ${after.op} ...)`,
          token.offset,
        );
      }
      requireBoolean(operand, "the operand of 'not'");
      return this.withDepth(
        { kind: "not", operand, offset: token.offset, end: operand.end },
        1 + this.depthOf(operand),
      );
    }
    return this.parsePrimary();
  }

  private parseComparison(): ConditionExpr {
    const left = this.parseUnary();
    const token = this.peek();
    if (token.kind !== "op" || !COMPARISONS.includes(token.op)) return left;
    this.next();
    const right = this.parseUnary();
    const values = [left, right].filter(isValueExpr);
    const notValue = [left, right].find((side) => !isValueExpr(side));
    if (notValue !== undefined || values.length !== 2) {
      throw new ConditionSyntaxError(
        `cannot compare a yes/no condition with '${token.op}'; compare env_var(), current_version, strings or numbers (write 'not (a == b)' to negate a comparison)`,
        (notValue ?? left).offset,
      );
    }
    const next = this.peek();
    if (next.kind === "op" && COMPARISONS.includes(next.op)) {
      throw new ConditionSyntaxError("comparisons do not chain; combine them with 'and'", next.offset);
    }
    const [l, r] = values as [ValueExpr, ValueExpr];
    return {
      kind: "compare",
      op: token.op as ComparisonOperator,
      left: l,
      right: r,
      offset: l.offset,
      end: r.end,
    };
  }

  private parsePrimary(): ConditionExpr {
    const token = this.next();
    switch (token.kind) {
      case "string":
        return { kind: "string", value: token.value, offset: token.offset, end: token.end };
      case "number":
        return { kind: "number", value: token.value, text: token.text, offset: token.offset, end: token.end };
      case "op":
        if (token.op === "(") return this.parseGroup(token);
        throw new ConditionSyntaxError(
          `expected a condition or value, found ${describe(token)}`,
          token.offset,
        );
      case "eof":
        throw new ConditionSyntaxError("unexpected end of condition", token.offset);
      case "ident":
        return this.parseName(token);
    }
  }

  private parseGroup(open: Token): ConditionExpr {
    this.enter(open);
    const inner = this.parseOr();
    this.nesting--;
    const close = this.next();
    if (close.kind !== "op" || close.op !== ")") {
      throw new ConditionSyntaxError(
        close.kind === "eof" ? "unbalanced '(': missing ')'" : `expected ')', found ${describe(close)}`,
        close.kind === "eof" ? open.offset : close.offset,
      );
    }
    return this.withDepth({ ...inner, offset: open.offset, end: close.end }, this.depthOf(inner));
  }

  private parseName(token: Extract<Token, { kind: "ident" }>): ConditionExpr {
    if (token.name === "current_version")
      return { kind: "current_version", offset: token.offset, end: token.end };
    if (this.keyword(token) !== undefined) {
      throw new ConditionSyntaxError(`'${token.name}' needs a condition before it`, token.offset);
    }
    const name = (FUNCTIONS as readonly string[]).includes(token.name) ? token.name : undefined;
    if (name === undefined) {
      throw new ConditionSyntaxError(
        `unknown function or name '${token.name}' (known: ${FUNCTIONS.join(", ")}, current_version)`,
        token.offset,
      );
    }
    const argument = this.parseStringArgument(token);
    checkArgument(name as (typeof FUNCTIONS)[number], argument);
    if (name === "env_var")
      return { kind: "env_var", name: argument.value, offset: token.offset, end: argument.end };
    return {
      kind: "predicate",
      name: name as PredicateName,
      argument: argument.value,
      offset: token.offset,
      end: argument.end,
    };
  }

  private parseStringArgument(fn: Extract<Token, { kind: "ident" }>): {
    value: string;
    offset: number;
    end: number;
  } {
    const open = this.next();
    if (open.kind !== "op" || open.op !== "(") {
      throw new ConditionSyntaxError(`${fn.name} needs '(' and one quoted argument`, open.offset);
    }
    const arg = this.next();
    if (arg.kind !== "string") {
      throw new ConditionSyntaxError(
        `${fn.name} takes one quoted string, found ${describe(arg)}`,
        arg.offset,
      );
    }
    const close = this.next();
    if (close.kind !== "op" || close.op !== ")") {
      const message =
        close.kind === "eof"
          ? `unbalanced '(': ${fn.name}( is not closed`
          : `${fn.name} takes exactly one argument`;
      throw new ConditionSyntaxError(message, close.kind === "eof" ? open.offset : close.offset);
    }
    return { value: arg.value, offset: arg.offset, end: close.end };
  }
}

/**
 * An argument that can never mean what it says is refused, not evaluated: `env_var('MODE=maintenance')`
 * names a variable no environment can hold (a name has no '='), so a skip_update written that way
 * never skipped; `file_exists('')` asked about the app directory itself (always there),
 * `command('')` is a shell that always succeeds, and `service_running('my service')` names a unit no
 * host has, so it was false everywhere (the rule of required_services: service-name.ts).
 */
function checkArgument(name: (typeof FUNCTIONS)[number], argument: { value: string; offset: number }): void {
  if (argument.value.trim() === "") {
    throw new ConditionSyntaxError(
      `${name}('') names nothing: give it ${ARGUMENT_TERMS[name]}`,
      argument.offset,
    );
  }
  const serviceProblem = name === "service_running" ? serviceName.problem(argument.value) : undefined;
  if (serviceProblem !== undefined) {
    throw new ConditionSyntaxError(
      `service_running('${argument.value}') names no service: a name ${serviceProblem}`,
      argument.offset,
    );
  }
  const equals = argument.value.indexOf("=");
  if (name === "env_var" && equals >= 0) {
    const variable = argument.value.slice(0, equals);
    const value = argument.value.slice(equals + 1);
    throw new ConditionSyntaxError(
      `env_var('${argument.value}'): a variable's name holds no '=', so it is never set; to compare its value write env_var('${variable}') == '${value}'`,
      argument.offset,
    );
  }
}

const ARGUMENT_TERMS: Record<(typeof FUNCTIONS)[number], string> = {
  file_exists: "a path (relative to the app directory, or absolute)",
  service_running: "a service's name",
  command: "a command to run",
  env_var: "a variable's name",
};

function requireBoolean(expr: ConditionExpr, role: string): void {
  if (isBooleanExpr(expr)) return;
  const hint =
    expr.kind === "current_version"
      ? "compare it, e.g. current_version < '2.0.0'"
      : "a value alone is not yes or no";
  throw new ConditionSyntaxError(`${role} must be a condition; ${hint}`, expr.offset);
}

function describe(token: Token): string {
  switch (token.kind) {
    case "eof":
      return "end of condition";
    case "op":
      return `'${token.op}'`;
    case "ident":
      return `'${token.name}'`;
    case "string":
      return "a string";
    case "number":
      return `number ${token.text}`;
  }
}
