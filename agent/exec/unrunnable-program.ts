/**
 * Why the shell could not start the program a command names, when the shell's own words mislead.
 * A release's `scripts/restart.sh` saved with Windows line endings has the `#!` line `/bin/sh\r`,
 * an interpreter no host has: dash then says "scripts/restart.sh: not found" (exit 127) of a file
 * that is plainly there, and operators went looking for a missing file. A script whose `#!` names a
 * program the host lacks (`#!/usr/bin/python3.12`) reads the same way, and one shipped without its
 * x bit is a bare "Permission denied" (126).
 */
import { constants } from "node:fs";
import { access, open, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";

/** The shell's exit codes for "cannot execute" (126) and "not found" (127). */
const CANNOT_RUN = new Set([126, 127]);
/** Enough of a script for its `#!` line: Linux reads at most 256 bytes of it. */
const SHEBANG_BYTES = 256;

/**
 * "; PROGRAM …" saying why the program at the start of `command` could not run, for a command that
 * exited 126 or 127; "" when that program is no file of the app (a command not on PATH is what the
 * shell says it is).
 */
export async function unrunnableProgram(
  command: string,
  cwd: string,
  exitCode: number | null,
): Promise<string> {
  if (exitCode === null || !CANNOT_RUN.has(exitCode)) return "";
  const program = firstWord(command);
  // A word without a slash is looked up on PATH, never in the app: the shell's message is right.
  if (program === undefined || !program.includes("/")) return "";
  const path = isAbsolute(program) ? program : join(cwd, program);
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return "";
  if (info.isDirectory()) return `; ${program} is a directory, not a program`;
  if (!info.isFile()) return "";
  if ((info.mode & 0o111) === 0)
    return `; ${program} is not executable (mode ${(info.mode & 0o7777).toString(8).padStart(4, "0")}): give it the x bit in the release (chmod +x; in git: git update-index --chmod=+x ${program}), or run it as "sh ${program}"`;
  const line = await shebangLine(path);
  if (line === undefined) return "";
  if (line.endsWith("\r"))
    return `; ${program} has Windows (CRLF) line endings: its #! line asks for "${line.slice(2).trim()}\\r", which no host has; save it with Unix (LF) line endings (dos2unix ${program}, or sed -i 's/\\r$//' ${program})`;
  const interpreter =
    line
      .slice(2)
      .trim()
      .split(/[ \t]+/)[0] ?? "";
  if (interpreter === "" || !isAbsolute(interpreter))
    return `; ${program}'s #! line names no absolute interpreter path: ${JSON.stringify(line)}`;
  if (!(await runnable(interpreter)))
    return `; ${program}'s #! line names ${interpreter}, which this host does not have (or may not run)`;
  return "";
}

/** The command's first word, its quotes removed: the program `sh -c` starts. */
function firstWord(command: string): string | undefined {
  const word = /^\s*(?:"([^"]+)"|'([^']+)'|(\S+))/.exec(command);
  return word?.[1] ?? word?.[2] ?? word?.[3];
}

/** The file's first line when it starts with `#!`, its `\r` (if any) kept. */
async function shebangLine(path: string): Promise<string | undefined> {
  const handle = await open(path, "r").catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const buffer = Buffer.alloc(SHEBANG_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SHEBANG_BYTES, 0);
    const text = buffer.subarray(0, bytesRead).toString("latin1");
    if (!text.startsWith("#!")) return undefined;
    const end = text.indexOf("\n");
    return end === -1 ? text : text.slice(0, end);
  } finally {
    await handle.close();
  }
}

async function runnable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}
