/**
 * Where a TOML file's footer begins: the comment lines closing the file (`# managed by ops`) are not
 * the last table's, so a table the merge adds goes above them and one it removes leaves them.
 */

/** A comment that reads as a setting or a header the operator commented out (`# ttl = 30`, `# [x]`). */
const COMMENTED_OUT = /^[ \t]*#[ \t]*(?:\[|[A-Za-z0-9_."'-]+[ \t]*=)/;

/**
 * How many of `lines`, comment lines right under a table's last key that run to the end of the
 * file with no blank line, are that table's: those up to its last commented-out setting (which the
 * operator would uncomment in that table); the rest are the file's footer.
 */
export function tableCommentCount(lines: readonly string[]): number {
  let count = 0;
  lines.forEach((line, index) => {
    if (COMMENTED_OUT.test(line)) count = index + 1;
  });
  return count;
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
