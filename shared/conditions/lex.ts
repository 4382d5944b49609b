/**
 * Tokens of the condition language. The lexer walks the text once, character by character, so
 * every token (and every error) knows its exact offset.
 */
import { ConditionSyntaxError } from "./syntax-error.js";

export type Token =
  | { kind: "ident"; name: string; offset: number; end: number }
  | { kind: "string"; value: string; offset: number; end: number }
  | { kind: "number"; value: number; text: string; offset: number; end: number }
  | { kind: "op"; op: Operator; offset: number; end: number }
  | { kind: "eof"; offset: number; end: number };

export type Operator = "==" | "!=" | "<" | "<=" | ">" | ">=" | "&&" | "||" | "!" | "(" | ")" | ",";

// Longest first, so `<=` is not read as `<` then `=`.
const OPERATORS: readonly Operator[] = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", ","];

const ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  n: "\n",
  t: "\t",
  r: "\r",
};

export function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "'" || ch === '"') {
      const token = readString(text, i);
      tokens.push(token);
      i = token.end;
    } else if (/[0-9]/.test(ch)) {
      const m = /^[0-9]+(?:\.[0-9]+)?/.exec(text.slice(i))!;
      const end = i + m[0].length;
      if (/[A-Za-z_.]/.test(text[end] ?? "")) {
        throw new ConditionSyntaxError(
          "a number cannot run into letters or dots; quote versions: '1.2.3'",
          i,
        );
      }
      tokens.push({ kind: "number", value: Number(m[0]), text: m[0], offset: i, end });
      i = end;
    } else if (/[A-Za-z_]/.test(ch)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0];
      tokens.push({ kind: "ident", name, offset: i, end: i + name.length });
      i += name.length;
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (op === undefined) throw new ConditionSyntaxError(unexpectedCharacter(text, i), i);
      tokens.push({ kind: "op", op, offset: i, end: i + op.length });
      i += op.length;
    }
  }
  tokens.push({ kind: "eof", offset: text.length, end: text.length });
  return tokens;
}

function unexpectedCharacter(text: string, i: number): string {
  const ch = text[i]!;
  if (ch === "=") return "unexpected '=' (use '==' to compare)";
  if (ch === "&") return "unexpected '&' (use '&&' or 'and')";
  if (ch === "|") return "unexpected '|' (use '||' or 'or')";
  return `unexpected character ${JSON.stringify(ch)}`;
}

function readString(text: string, start: number): Token {
  const quote = text[start]!;
  let value = "";
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === quote) return { kind: "string", value, offset: start, end: i + 1 };
    if (ch === "\\") {
      const next = text[i + 1];
      const escaped = next === undefined ? undefined : ESCAPES[next];
      if (escaped === undefined) {
        throw new ConditionSyntaxError(
          next === undefined
            ? "unterminated string (a backslash ends the text)"
            : `unknown escape \\${next} (known: \\\\ \\' \\" \\n \\t \\r)`,
          i,
        );
      }
      value += escaped;
      i += 2;
    } else {
      value += ch;
      i++;
    }
  }
  throw new ConditionSyntaxError(`unterminated string (no closing ${quote})`, start);
}
