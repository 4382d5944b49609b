/**
 * Where a TOML file's footer begins: the comment lines closing the file (`# managed by ops`) are not
 * the last table's, so a table the merge adds goes above them and one it removes leaves them.
 */

import { parse } from "smol-toml";

/**
 * How many of `lines`, comment lines right under a table's last key that run to the end of the
 * file with no blank line, are that table's: those up to its last commented-out setting (which the
 * operator would uncomment in that table); the rest are the file's footer.
 */
export function tableCommentCount(lines: readonly string[]): number {
  let count = 0;
  for (let at = 0; at < lines.length; at++) {
    const length = commentedOutLength(lines, at);
    if (length > 0) {
      count = at + length;
      at += length - 1;
    }
  }
  return count;
}

/** Past this many comment lines a value commented out over several lines is not looked for. */
const MAX_VALUE_LINES = 50;

/**
 * How many lines from lines[at] are a setting or a header the operator commented out: text that
 * TOML reads as one once the `#` goes (`# ttl = 30`, `#key=1`, `#  [a.b]`, `# [[x]]`,
 * `# k = "a # b"`, a `# hosts = [` array over several comment lines); 0 for prose, though it holds
 * an `=` or brackets (`# see a = b in docs`, `# [see the docs]`), which a text pattern took for a
 * setting, so the footer under it went with the table.
 */
function commentedOutLength(lines: readonly string[], at: number): number {
  const first = uncommented(lines[at] as string);
  if (first === undefined || !/^(?:\[|[A-Za-z0-9_"'-])/.test(first)) return 0;
  if (readsAsSetting(first) || unquotedSetting(first)) return 1;
  // Only a value that opens and goes on (`= [`, `= {`, `= """`) can run over the next lines.
  if (!/=[ \t]*(?:\[|\{|"""|''')/.test(first)) return 0;
  let text = first;
  for (let end = at + 1; end < Math.min(lines.length, at + MAX_VALUE_LINES); end++) {
    const next = uncommented(lines[end] as string, false);
    if (next === undefined) return 0;
    text += `\n${next}`;
    if (readsAsSetting(text)) return end - at + 1;
  }
  return 0;
}

/** A comment line's text after its `#` (trimmed at the start unless `trim` is false); undefined for no comment. */
function uncommented(line: string, trim = true): string | undefined {
  const match = /^[ \t]*#(.*?)\r?$/.exec(line);
  if (match === null) return undefined;
  const text = match[1] as string;
  return trim ? text.trimStart() : text.replace(/^ /, "");
}

/**
 * A setting commented out as many configs show one, its value one word TOML would want quoted
 * (`# log_level = info`, `# path = /var/log/app.log  # default`): the operator uncomments it in that
 * table, quoting the word. A value of more than one word (`# note = this file is managed`) is prose.
 */
function unquotedSetting(text: string): boolean {
  const match = /^(.+?)[ \t]*=[ \t]*([^\s"'[{#][^\s#]*)[ \t]*(?:#.*)?$/.exec(text);
  return match !== null && readsAsSetting(`${match[1]} = 0`);
}

/** Whether TOML reads `text` as at least one key or table header. */
function readsAsSetting(text: string): boolean {
  try {
    return Object.keys(parse(text)).length > 0;
  } catch {
    return false;
  }
}

/**
 * Where the comment paragraphs closing the file begin: after a blank line under the last key (the
 * comments right above it are that table's), or, with none, after the table's own comment lines
 * (tableCommentCount). Undefined when the file does not end with such comments.
 */
export function footerStart(text: string): number | undefined {
  const lines = text.split("\n");
  let end = lines.length;
  while (end > 0 && (lines[end - 1] as string).trim() === "") end--;
  let start = end;
  while (start > 0 && /^\s*(#|$)/.test(lines[start - 1] as string)) start--;
  let attached = start;
  while (attached < end && (lines[attached] as string).trim() !== "") attached++;
  if (attached >= end) start += tableCommentCount(lines.slice(start, end));
  else {
    start = attached;
    while (start < end && (lines[start] as string).trim() === "") start++;
  }
  if (start === 0 || start >= end) return undefined;
  return lines.slice(0, start).join("\n").length + 1;
}

/** Whether the line before `at` is blank (or there is none): text inserted there needs no blank line above. */
export function blankBefore(text: string, at: number): boolean {
  return at === 0 || /(?:^|\n)[ \t]*\r?\n$/.test(text.slice(0, at));
}
