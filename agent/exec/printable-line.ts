/**
 * A line a command printed, made safe to quote in a one-line failure. That line goes to stdout (the
 * journal under systemd), the state file, the hub and Slack: a NUL in it made journald keep the whole
 * line as "[blob data]", so the failure's reason was not shown at all, and a color code or cursor
 * movement of the program's drove the operator's terminal. Color and cursor sequences (ANSI CSI and
 * OSC) are dropped, as they format the text rather than say anything; every other control and format
 * character is written as `\u0000`, so it stays visible; a tab is a space.
 */
import { UNPRINTABLE } from "../../shared/schema/unprintable.js";
import { withoutTerminalCodes } from "./terminal-codes.js";

const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, "gu");

export function printableLine(line: string): string {
  return withoutTerminalCodes(line)
    .replace(/\t/g, " ")
    .replace(UNPRINTABLE_ALL, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`);
}
