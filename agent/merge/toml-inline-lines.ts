/**
 * An inline table written over lines (TOML 1.1, which the reader takes: `db = {`, then one member
 * per line, a comma after the last one allowed, comments between them). A merge writing it anew (a
 * member changed or added) put it on one line: its layout went with no word, and its comments
 * went, named in a WARNING. Its layout is read here, so the table written anew keeps it: a member
 * per line at the user's indent, the closing brace as written, the comma after the last member as
 * written, and the comments above each member and after it on its line, for every member that stays.
 * A table whose members do not stand one per line is left to the one-line writer.
 */
import { scanOutsideStrings } from "./toml-chars.js";
import { tomlCommentLines } from "./toml-scan.js";

export interface InlineLines {
  /** The table on one line without its comments, to read its members from. */
  flat: string;
  /** What follows `{` on its line (white space and a comment), and the comment lines closing the table. */
  head: string;
  tail: string[];
  indent: string;
  /** The white space before `}` on its own line. */
  close: string;
  trailingComma: boolean;
  /** By a member's key as written: the comment lines above it and what follows it on its line. */
  notes: Map<string, { above: string[]; after: string }>;
}

/** The layout of an inline table's text written over lines; undefined for one on one line. */
export function inlineLines(text: string): InlineLines | undefined {
  if (!text.includes("\n") || !text.startsWith("{") || !text.endsWith("}")) return undefined;
  const lines = text.split("\n");
  const bare = withoutComments(text).split("\n");
  if (bare.length !== lines.length || (bare[0] ?? "").trim() !== "{") return undefined;
  const close = /^([ \t]*)\}$/.exec(bare.at(-1) ?? "")?.[1];
  if (close === undefined) return undefined;
  const members: string[] = [];
  const notes = new Map<string, { above: string[]; after: string }>();
  let pending: string[] = [];
  let indent: string | undefined;
  let trailingComma = false;
  for (let i = 1; i < lines.length - 1; i++) {
    const line = bare[i] as string;
    const content = line.trim();
    if (content === "") {
      // A blank line parts nothing a one-member-per-line writer could keep: left to the one-line writer.
      if ((lines[i] as string).trim() === "") return undefined;
      pending.push(lines[i] as string);
      continue;
    }
    const member = content.endsWith(",") ? content.slice(0, -1).trimEnd() : content;
    const equals = topLevel(member, "=");
    if (equals === -1 || topLevel(member, ",") !== -1 || !balanced(member)) return undefined;
    indent ??= /^[ \t]*/.exec(line)?.[0] ?? "";
    trailingComma = content.endsWith(",");
    notes.set(member.slice(0, equals).trim(), {
      above: pending,
      after: (lines[i] as string).slice(line.trimEnd().length),
    });
    pending = [];
    members.push(member);
  }
  if (indent === undefined) return undefined;
  return {
    flat: `{ ${members.join(", ")} }`,
    head: (lines[0] as string).slice(1),
    tail: pending,
    indent,
    close,
    trailingComma,
    notes,
  };
}

/** `parts` (members as `key = value`) laid out as `layout` lays out the user's table. */
export function layOut(layout: InlineLines, parts: readonly string[]): string {
  const body = parts.flatMap((part, i) => {
    const key = part.slice(0, topLevel(part, "=")).trim();
    const note = layout.notes.get(key);
    const comma = i < parts.length - 1 || layout.trailingComma ? "," : "";
    return [...(note?.above ?? []), `${layout.indent}${part}${comma}${note?.after ?? ""}`];
  });
  return [`{${layout.head}`, ...body, ...layout.tail, `${layout.close}}`].join("\n");
}

/** The text with each comment (outside strings) cut from its line. */
function withoutComments(text: string): string {
  let out = "";
  let from = 0;
  for (const { offset } of tomlCommentLines(text)) {
    out += text.slice(from, offset);
    const end = text.indexOf("\n", offset);
    from = end === -1 ? text.length : end;
  }
  return out + text.slice(from);
}

/** Where `char` first stands outside strings and brackets, or -1. */
function topLevel(text: string, char: string): number {
  let depth = 0;
  const at = scanOutsideStrings(text, (c) => {
    if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
    return depth === 0 && c === char;
  });
  return at ?? -1;
}

function balanced(text: string): boolean {
  let depth = 0;
  const open = scanOutsideStrings(text, (c) => {
    if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
    return depth < 0;
  });
  return open === -1 && depth === 0;
}

/**
 * Whether an inline table's own members are written over lines (a line break between its braces
 * outside its values), not only a value inside it (`t = { a = [` over lines `] }`).
 */
export function membersOverLines(text: string): boolean {
  let depth = 0;
  const at = scanOutsideStrings(text, (c) => {
    if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
    return depth === 1 && c === "\n";
  });
  return at !== undefined && at !== -1;
}
