/**
 * JSON merges: the result is re-serialised, keeping the server copy's indentation (detected),
 * line endings, trailing newline and key order. JSON has no comments to lose.
 */
import { applyEditsToValue } from "./apply-plain.js";
import { type CopyRole, lineColumnAt, parseFailure } from "./parse-error.js";
import type { MergeEdit } from "./plan.js";

export function parseJson(text: string, fileName: string, role: CopyRole): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const offset = /at position (\d+)/.exec(message)?.[1];
    // An empty file has no position in V8's message; point at its start.
    const position = offset === undefined ? { line: 1, column: 1 } : lineColumnAt(text, Number(offset));
    throw parseFailure(fileName, role, message.replace(/ in JSON at position \d+.*$/, ""), position);
  }
}

export function renderJsonMerge(
  userText: string,
  user: unknown,
  release: unknown,
  edits: MergeEdit[],
): string {
  if (edits.length === 0) return userText;
  const merged = applyEditsToValue(user, release, edits);
  const eol = userText.includes("\r\n") ? "\r\n" : "\n";
  let text = JSON.stringify(merged, null, detectIndent(userText));
  if (eol !== "\n") text = text.replaceAll("\n", eol);
  return /\r?\n$/.test(userText) ? text + eol : text;
}

/** The first indented line's leading whitespace; a one-line file stays one line. */
export function detectIndent(text: string): string {
  const match = /\r?\n([ \t]+)\S/.exec(text);
  return match?.[1] ?? "";
}
