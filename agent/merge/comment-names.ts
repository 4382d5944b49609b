/** How merge WARNINGs name the user's comments they say went, so a check can tell one named. */

/**
 * Whether `warning` names `comment` itself: the warnings list comments as `#text`, after `(`, `: `
 * or `, ` and before `,`, `)`, the end or its line (` (line 3)`, lost-comments.ts). Found as a bare substring, `# tls` counted as named by a
 * warning naming `# tls port`, and went unnamed. A comment of several lines is named by its first.
 */
export function namesComment(warning: string, comment: string): boolean {
  const [first = "", ...more] = comment.split("\n");
  const named = `#${first}`;
  for (let at = warning.indexOf(named); at !== -1; at = warning.indexOf(named, at + 1)) {
    const before = at === 0 ? " " : (warning[at - 1] as string);
    const after = warning[at + named.length];
    const withLine = warning.startsWith(" (line ", at + named.length);
    if (
      (before === " " || before === "(") &&
      (more.length > 0 || after === undefined || after === "," || after === ")" || withLine)
    )
      return true;
  }
  return false;
}

/** One comment of a copy, where it is. */
export interface CommentLine {
  /** The text after the `#`, trailing spaces dropped. */
  comment: string;
  /** 1-based, in the text given. */
  line: number;
  /** Where its `#` is in the text given. */
  offset: number;
}

/**
 * A comment as a WARNING names it: `# text (line N)`, N its line in the operator's copy before the
 * merge (the update's backup holds it), so a comment written twice, or in a long file, is found.
 */
export function namedComment({ comment, line }: Omit<CommentLine, "offset">): string {
  return `#${comment} (line ${line})`;
}
