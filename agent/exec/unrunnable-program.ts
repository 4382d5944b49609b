/**
 * Why the shell could not start the program a command names, when the shell's own words mislead.
 * A release's `scripts/restart.sh` saved with Windows line endings has the `#!` line `/bin/sh\r`,
 * an interpreter no host has: dash then says "scripts/restart.sh: not found" (exit 127) of a file
 * that is plainly there, and operators went looking for a missing file. A script whose `#!` names a
 * program the host lacks (`#!/usr/bin/python3.12`) reads the same way, and one shipped without its
 * x bit is a bare "Permission denied" (126). One saved with a byte-order mark before its `#!` is
 * worse: the kernel does not see the `#!` line, so /bin/sh runs the file as a shell script, and it
 * fails with whatever sh makes of Python or bash ("Syntax error: word unexpected", "[[: not found"),
 * or, a `#!/bin/sh` script, runs under sh after all with one odd "not found" line.
 */
import { constants, type Stats } from "node:fs";
import { access, open, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";

/** The shell's exit codes for "cannot execute" (126) and "not found" (127). */
const CANNOT_RUN = new Set([126, 127]);
/** Enough of a script for its `#!` line: Linux reads at most 256 bytes of it. */
const SHEBANG_BYTES = 256;

/**
 * "; PROGRAM …" saying why the program at the start of `command` could not run, for a command that
 * failed: any exit code for a byte-order mark before `#!` (sh ran the script, and the script's own
 * failure is what it says), 126 or 127 for the rest; "" when that program is no file of the app (a
 * command not on PATH is what the shell says it is).
 */
export async function unrunnableProgram(
  command: string,
  cwd: string,
  exitCode: number | null,
): Promise<string> {
  if (exitCode === null || exitCode === 0) return "";
  const file = await appProgram(command, cwd);
  if (file === undefined) return "";
  const { program, path, info } = file;
  const bom = await byteOrderMark(program, path, info);
  if (bom !== "") return `; ${bom}`;
  if (!CANNOT_RUN.has(exitCode)) return "";
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

/**
 * For a command that succeeded: what is wrong with the script it starts that the success hides. A
 * `#!/bin/sh` script with a byte-order mark ran under sh, as meant, but only because the kernel fell
 * back to sh; one whose #! names bash or Python got through under sh by luck. A warning, not a
 * failure: the command did what it was run for. "" when nothing is wrong.
 */
export async function succeededDespite(command: string, cwd: string): Promise<string> {
  const file = await appProgram(command, cwd);
  return file === undefined ? "" : byteOrderMark(file.program, file.path, file.info);
}

interface AppProgram {
  /** As the command names it. */
  program: string;
  path: string;
  info: Stats;
}

/** The file of the app the command starts, if its first word names one (it has a slash). */
async function appProgram(command: string, cwd: string): Promise<AppProgram | undefined> {
  const program = firstWord(command);
  // A word without a slash is looked up on PATH, never in the app: the shell's message is right.
  if (program === undefined || !program.includes("/")) return undefined;
  const path = isAbsolute(program) ? program : join(cwd, program);
  const info = await stat(path).catch(() => undefined);
  return info === undefined ? undefined : { program, path, info };
}

/** Byte-order marks an editor may write before `#!`, with `#!` in that encoding after them. */
const MARKED_SHEBANGS: readonly { bytes: Buffer; encoding: string }[] = [
  { bytes: Buffer.from([0xef, 0xbb, 0xbf, 0x23, 0x21]), encoding: "UTF-8" },
  { bytes: Buffer.from([0xff, 0xfe, 0x23, 0x00, 0x21, 0x00]), encoding: "UTF-16" },
  { bytes: Buffer.from([0xfe, 0xff, 0x00, 0x23, 0x00, 0x21]), encoding: "UTF-16" },
];

/** "PROGRAM starts with a byte-order mark …" when the file has one before its `#!`, else "". */
async function byteOrderMark(program: string, path: string, info: Stats): Promise<string> {
  if (!info.isFile()) return "";
  const start = await fileStart(path, 8);
  const mark = MARKED_SHEBANGS.find(({ bytes }) => start.subarray(0, bytes.length).equals(bytes));
  if (mark === undefined) return "";
  const fix =
    mark.encoding === "UTF-8"
      ? `save it without a BOM (sed -i '1s/^\\xEF\\xBB\\xBF//' ${program})`
      : "save it as UTF-8 without a BOM";
  return `${program} starts with a byte-order mark (${mark.encoding} BOM) before #!, so the kernel does not see its #! line and /bin/sh ran it as a shell script: ${fix}`;
}

/** The command's first word, its quotes removed: the program `sh -c` starts. */
function firstWord(command: string): string | undefined {
  const word = /^\s*(?:"([^"]+)"|'([^']+)'|(\S+))/.exec(command);
  return word?.[1] ?? word?.[2] ?? word?.[3];
}

/** The file's first line when it starts with `#!`, its `\r` (if any) kept. */
async function shebangLine(path: string): Promise<string | undefined> {
  const text = (await fileStart(path, SHEBANG_BYTES)).toString("latin1");
  if (!text.startsWith("#!")) return undefined;
  const end = text.indexOf("\n");
  return end === -1 ? text : text.slice(0, end);
}

/** Up to `bytes` bytes from the start of the file; none when it cannot be read. */
async function fileStart(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, "r").catch(() => undefined);
  if (handle === undefined) return Buffer.alloc(0);
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } catch {
    return Buffer.alloc(0);
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
