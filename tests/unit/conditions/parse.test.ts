import { describe, expect, it } from "vitest";
import { type ConditionExpr, formatCondition } from "../../../shared/conditions/ast.js";
import { ConditionSyntaxError, parseCondition } from "../../../shared/conditions/parse.js";

/** A compact, unambiguous picture of a tree: (op a b). */
function tree(expr: ConditionExpr): string {
  switch (expr.kind) {
    case "predicate":
      return `${expr.name}:${expr.argument}`;
    case "env_var":
      return `env:${expr.name}`;
    case "current_version":
      return "cv";
    case "string":
      return JSON.stringify(expr.value);
    case "number":
      return `#${expr.value}`;
    case "compare":
      return `(${expr.op} ${tree(expr.left)} ${tree(expr.right)})`;
    case "not":
      return `(not ${tree(expr.operand)})`;
    case "and":
    case "or":
      return `(${expr.kind} ${tree(expr.left)} ${tree(expr.right)})`;
  }
}

const A = "file_exists('a')";
const B = "service_running('b')";
const C = "command('c')";
const D = "env_var('D')";

describe("parseCondition: grammar and precedence", () => {
  it.each([
    [`${A} or ${B} and ${C}`, "(or file_exists:a (and service_running:b command:c))"],
    [`${A} and ${B} or ${C}`, "(or (and file_exists:a service_running:b) command:c)"],
    [`not ${A} and ${B}`, "(and (not file_exists:a) service_running:b)"],
    [`not (${A} and ${B})`, "(not (and file_exists:a service_running:b))"],
    [`${A} || ${B} && !${C}`, "(or file_exists:a (and service_running:b (not command:c)))"],
    [`(${A} or ${B}) and ${C}`, "(and (or file_exists:a service_running:b) command:c)"],
    [`not not ${A}`, "(not (not file_exists:a))"],
    [`${A} AND ${B} Or NOT ${C}`, "(or (and file_exists:a service_running:b) (not command:c))"],
    [`${A} or ${B} or ${C}`, "(or (or file_exists:a service_running:b) command:c)"],
    [
      `${D} == 'x' and current_version < '2.0.0' or ${A}`,
      '(or (and (== env:D "x") (< cv "2.0.0")) file_exists:a)',
    ],
    [`not (current_version >= "2")`, '(not (>= cv "2"))'],
    [D, "env:D"],
    [`((((${A}))))`, "file_exists:a"],
  ])("%s", (text, expected) => {
    expect(tree(parseCondition(text))).toBe(expected);
  });

  it.each(["==", "!=", "<", "<=", ">", ">="])("comparison operator %s", (op) => {
    expect(tree(parseCondition(`current_version ${op} '1.0'`))).toBe(`(${op} cv "1.0")`);
    expect(tree(parseCondition(`env_var('N')${op}3`))).toBe(`(${op} env:N #3)`);
  });

  it("reads every function and value", () => {
    expect(tree(parseCondition("file_exists('/etc/x')"))).toBe("file_exists:/etc/x");
    expect(tree(parseCondition("service_running('nginx')"))).toBe("service_running:nginx");
    expect(tree(parseCondition("command('test -d /tmp')"))).toBe("command:test -d /tmp");
    expect(tree(parseCondition("env_var('HOME') != ''"))).toBe('(!= env:HOME "")');
    expect(tree(parseCondition("'1.5' > current_version"))).toBe('(> "1.5" cv)');
    expect(tree(parseCondition("env_var('N') >= 2.5"))).toBe("(>= env:N #2.5)");
  });

  it("reads both quote styles and backslash escapes", () => {
    const arg = (text: string) => {
      const expr = parseCondition(text);
      if (expr.kind !== "predicate") throw new Error(`not a predicate: ${expr.kind}`);
      return expr.argument;
    };
    expect(arg(`command("grep -q 'x' f")`)).toBe("grep -q 'x' f");
    expect(arg(`command('say \\'hi\\'')`)).toBe("say 'hi'");
    expect(arg(`command("say \\"hi\\"")`)).toBe('say "hi"');
    expect(arg(`file_exists('C:\\\\dir')`)).toBe("C:\\dir");
    expect(arg(`command('a\\nb\\tc\\rd')`)).toBe("a\nb\tc\rd");
    expect(arg(`file_exists('a and b or (c)')`)).toBe("a and b or (c)");
  });

  it("records spans of nodes", () => {
    const expr = parseCondition(`  ${A} and ${B}`);
    expect(expr).toMatchObject({ kind: "and", offset: 2, end: 2 + A.length + 5 + B.length });
  });

  it("formats a tree back to text that parses to the same tree", () => {
    for (const text of [
      `not (${A} or ${B}) and ${C}`,
      `${A} or ${B} and not ${C}`,
      `command('it\\'s \\\\ here') or ${D} == "x"`,
      "current_version <= '1.0' and (env_var('N') > 3 or not file_exists('x'))",
    ]) {
      const expr = parseCondition(text);
      expect(tree(parseCondition(formatCondition(expr)))).toBe(tree(expr));
    }
  });
});

describe("parseCondition: errors carry the exact offset", () => {
  it.each([
    ["", 0, /empty condition/],
    ["   ", 0, /empty condition/],
    ["file_exist('x')", 0, /unknown function or name 'file_exist'/],
    [`${A} and foo('y')`, 21, /unknown function or name 'foo'/],
    ["rm('-rf')", 0, /unknown function/],
    ["file_exists('x'", 11, /unbalanced '\('/],
    [`(${A}`, 0, /unbalanced '\(': missing '\)'/],
    [`((${A}) or ${B}`, 0, /missing '\)'/],
    [`${A})`, 16, /unbalanced '\)'/],
    [`${A} and (${B}))`, 43, /unbalanced '\)'/],
    ["file_exists('x) ", 12, /unterminated string/],
    ['command("abc', 8, /unterminated string \(no closing "\)/],
    ["current_version = '1'", 16, /use '=='/],
    ["current_version < 2.0.0", 18, /quote versions/],
    [`${A} ==`, 19, /unexpected end/],
    ["current_version", 0, /must be a condition; compare it/],
    ["'abc'", 0, /must be a condition/],
    ["42", 0, /must be a condition/],
    [`${A} and 'x'`, 21, /operand of 'and' must be a condition/],
    [`${A} == 'x'`, 0, /cannot compare a yes\/no condition/],
    [`'x' != ${A}`, 7, /cannot compare a yes\/no condition/],
    ["not current_version < '2'", 0, /'not' binds tighter than '<'/],
    ["not env_var('X') == 'y'", 0, /'not' binds tighter than '=='/],
    ["current_version < '1' < '2'", 22, /do not chain/],
    ["file_exists(x)", 12, /takes one quoted string, found 'x'/],
    ["file_exists('a', 'b')", 15, /exactly one argument/],
    ["file_exists 'a'", 12, /needs '\('/],
    ["file_exists()", 12, /takes one quoted string, found '\)'/],
    ["command('a\\q')", 10, /unknown escape \\q/],
    [`${A} & ${B}`, 17, /use '&&'/],
    [`${A} | ${B}`, 17, /use '\|\|'/],
    [`and ${A}`, 0, /needs a condition before it/],
    [`${A} and`, 20, /unexpected end/],
    [`${A} ${B}`, 17, /after a complete condition/],
    [`${A} and ()`, 22, /expected a condition or value, found '\)'/],
    ["current_version < '1' $", 22, /unexpected character "\$"/],
    ["env_var('X') == not file_exists('a')", 16, /cannot compare/],
    [
      "env_var('MODE=maintenance')",
      8,
      /env_var\('MODE=maintenance'\): a variable's name holds no '=', so it is never set; to compare its value write env_var\('MODE'\) == 'maintenance'/,
    ],
    [`${A} and env_var('')`, 29, /env_var\(''\) names nothing: give it a variable's name/],
    ["file_exists(' ')", 12, /file_exists\(''\) names nothing: give it a path/],
    ["command('')", 8, /command\(''\) names nothing/],
    ['service_running("")', 16, /service_running\(''\) names nothing/],
  ])("%j → offset %i", (text, offset, message) => {
    let caught: unknown;
    try {
      parseCondition(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConditionSyntaxError);
    const error = caught as ConditionSyntaxError;
    expect(error.message).toMatch(message);
    expect(error.offset).toBe(offset);
  });
});

describe("parseCondition: bounded depth", () => {
  it("refuses 5,000 nested parentheses or nots with a syntax error, not a stack overflow", () => {
    for (const text of [
      `${"(".repeat(5000)}file_exists('a')${")".repeat(5000)}`,
      `${"not ".repeat(5000)}file_exists('a')`,
      Array.from({ length: 5000 }, () => "file_exists('a')").join(" and "),
    ]) {
      expect(() => parseCondition(text)).toThrow(ConditionSyntaxError);
      expect(() => parseCondition(text)).toThrow(/more than 100 levels|nested deeper than 100 levels/);
    }
  });

  it("accepts nesting up to the bound", () => {
    expect(() => parseCondition(`${"(".repeat(90)}file_exists('a')${")".repeat(90)}`)).not.toThrow();
    expect(() =>
      parseCondition(Array.from({ length: 50 }, () => "file_exists('a')").join(" or ")),
    ).not.toThrow();
  });
});
