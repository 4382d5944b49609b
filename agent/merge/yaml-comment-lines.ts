/**
 * Where each comment of a YAML text is, for the WARNINGs that name the operator's comments a merge
 * took away with their lines (comment-names.ts namedComment): the safety net and the renderer
 * (lost-comments.ts, yaml-format.ts) read them alike.
 */
import { isNode, Lexer, type Node, type Pair, visit } from "yaml";
import { type CommentLine, namedComment } from "./comment-names.js";

/** The yaml lexer's one-character markers, which are not source text. */
const LEXER_MARKERS = new Set(["\x02", "\x18", "\x1f"]);

/** Each comment of a YAML `text` with its line and offset. */
export function yamlCommentLines(text: string): CommentLine[] {
  // The YAML lexer gives each comment as its own token (never one inside a quoted or block scalar);
  // the tokens are the source's text in order, apart from one-character markers that hold no newline.
  const found: CommentLine[] = [];
  let line = 1;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (LEXER_MARKERS.has(token)) continue;
    if (token.startsWith("#")) found.push({ comment: token.slice(1).trimEnd(), line, offset });
    for (let at = token.indexOf("\n"); at !== -1; at = token.indexOf("\n", at + 1)) line++;
    offset += token.length;
  }
  return found;
}

/**
 * The comments `gone` with the value of `pair` (each as the yaml library holds it: the text after
 * `#`, a note of several lines by its first), named with their lines in `text`, the copy the pair
 * was read from: each the first not yet named between the pair's key and the end of its value's
 * line, else anywhere in the copy (a node the merge moved there), else without a line.
 */
export function namedInPair(text: string, pair: Pair<unknown, unknown>, gone: readonly string[]): string[] {
  const lines = yamlCommentLines(text);
  const start = isNode(pair.key) ? pair.key.range?.[0] : undefined;
  const valueEnd = isNode(pair.value) ? pair.value.range?.[2] : undefined;
  const lineEnd = valueEnd === undefined ? -1 : text.indexOf("\n", valueEnd);
  const end = lineEnd === -1 ? text.length : lineEnd;
  const named = new Set<number>();
  return gone.map((comment) => {
    const first = (comment.split("\n")[0] ?? "").trimEnd();
    const free = (c: CommentLine) => c.comment === first && !named.has(c.offset);
    const inPair = (c: CommentLine) => start !== undefined && c.offset >= start && c.offset < end;
    const found = lines.find((c) => free(c) && inPair(c)) ?? lines.find(free);
    if (found === undefined) return `#${first}`;
    named.add(found.offset);
    return namedComment(found);
  });
}

/** What a note hangs on: a node, or a pair's key. */
export interface NoteHolder {
  commentBefore?: string | null;
  comment?: string | null;
}

/** Where notes can hang in `node`: on it, on every node under it, on every pair's key, in order. */
export function noteHolders(node: Node): NoteHolder[] {
  const found: NoteHolder[] = [node];
  visit(node, {
    Node(_key, n) {
      if (n !== node) found.push(n);
    },
    Pair(_key, pair) {
      if (isNode(pair.key)) found.push(pair.key);
    },
  });
  return found;
}
