import { BadInputError } from "../../shared/errors.js";

/** Which copy of the file failed to parse: named in the message so the operator knows where to look. */
export type CopyRole = "server" | "release" | "previous release";

const describe: Record<CopyRole, string> = {
  server: "the server's copy",
  release: "the release's copy",
  "previous release": "the previous release's copy",
};

/** "the server's copy", "the release's copy", "the previous release's copy". */
export function copyName(role: CopyRole): string {
  return describe[role];
}

export function parseFailure(
  fileName: string,
  role: CopyRole,
  message: string,
  position?: { line: number; column: number },
): BadInputError {
  return new BadInputError([
    {
      file: fileName,
      line: position?.line,
      column: position?.column,
      path: "",
      message: `cannot merge: ${describe[role]} does not parse: ${message}`,
      severity: "error",
    },
  ]);
}

/** 1-based line and column of a character offset. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1 };
}

/**
 * Where a repeated key was first written: its line, or its column when both are on one
 * line (`{"a": 1, "a": 2}` was "also on line 1" at line 1, naming the one place twice).
 */
export function firstWritten(text: string, first: number, again: number): string {
  const at = lineColumnAt(text, first);
  return at.line === lineColumnAt(text, again).line
    ? `at column ${at.column} of that line`
    : `on line ${at.line}`;
}
