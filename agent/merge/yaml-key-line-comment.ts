import { type Document, isMap, isNode, isScalar, isSeq, type Pair, visit } from "yaml";

/**
 * The comment on a key's own line above a list or mapping (`hosts: # which hosts`, then `- a`) is
 * about the key, as the one above a scalar value is (keepCommentAbove). The yaml library files it
 * with the comment lines above the first item, as the collection's, so it went with a list the
 * release replaced, or with the user's first item. Here it is taken off the user's collection
 * (`take`), to go on whatever value the release puts there (`give`).
 */
export function keyLineComment(own: Pair, shipped: unknown): string | undefined {
  const comment = keyLineNoteOf(own.value);
  if (comment === undefined) return undefined;
  const theirs = isNode(shipped) ? shipped.commentBefore?.split("\n")[0] : undefined;
  return comment === theirs ? undefined : comment;
}

/** The user's collection without its key-line comment, for the merge of the rest; gives back the way to undo it. */
export function takeKeyLineComment(own: Pair): () => void {
  const old = own.value;
  if (!(isMap(old) || isSeq(old))) return () => undefined;
  const whole = old.commentBefore;
  const rest = whole?.split("\n").slice(1).join("\n");
  old.commentBefore = rest === "" ? null : rest;
  return () => {
    old.commentBefore = whole;
  };
}

/**
 * The key-line comment above the release's value there, first of its comments: the library writes
 * it on the key's line again (`db: # main`, then `pg://` under it, as keepCommentAbove keeps one).
 */
export function giveKeyLineComment(value: unknown, comment: string): boolean {
  if (!isNode(value)) return false;
  // A block scalar (`|`) holds no comment before it in the library's text.
  if (isScalar(value) && (value.type === "BLOCK_LITERAL" || value.type === "BLOCK_FOLDED")) return false;
  // The release's value carries it already, after it (`a: {n: 1}  # c`): given too, the file held it twice.
  if (value.comment?.split("\n").some((line) => line.trim() === comment.trim())) return true;
  value.commentBefore = value.commentBefore ? `${comment}\n${value.commentBefore}` : comment;
  return true;
}

/**
 * The key-line comment of each list or mapping (`p:  # c`, then `a: 1`), marked at parse on the
 * collection itself, where clone() keeps it: the library holds it with the lines above the first
 * key, so a release's `p:  # c` over block lines read as a new note above `a` for a user's
 * `p: {a: 1}  # c`, copied into the braces (spread over lines) and written twice.
 */
const KEY_LINE = Symbol("key-line comment");

export function markKeyLineComments(doc: Document, text: string): void {
  visit(doc, {
    Pair(_key, pair) {
      const value = pair.value;
      if (!(isMap(value) || isSeq(value)) || !value.commentBefore || !isNode(pair.key)) return;
      const keyEnd = pair.key.range?.[2];
      const valueStart = value.range?.[0];
      if (keyEnd === undefined || valueStart === undefined) return;
      const keyLine = text.slice(keyEnd, valueStart).split("\n")[0] ?? "";
      if (!/(^|\s)#/.test(keyLine)) return;
      Object.defineProperty(value, KEY_LINE, { value: value.commentBefore.split("\n")[0] });
    },
  });
}

/** The collection's key-line comment, while its comment lines still begin with it. */
export function keyLineNoteOf(node: unknown): string | undefined {
  if (!(isMap(node) || isSeq(node)) || !node.commentBefore) return undefined;
  const note = (node as unknown as Record<symbol, unknown>)[KEY_LINE];
  if (typeof note !== "string") return undefined;
  return node.commentBefore.split("\n")[0] === note ? note : undefined;
}
