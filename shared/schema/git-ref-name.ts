/**
 * A git branch or tag name as git check-ref-format(1) allows it, checked where the name enters (a
 * hub's release, ship.toml's `branch` and `tag`) rather than by git, which saw it only inside a
 * fetch refspec: `+refs/tags/v1:x:refs/tags/v1:x` or a name starting with `-` then reached git
 * before any signature was checked, and the run failed with git's words, naming no field.
 */
import type * as z from "zod";
import { nonEmptyText } from "./non-empty.js";

/** Printable characters git refuses in any ref name (controls and DEL are refused by code). */
const FORBIDDEN = /[ ~^:\\]/;
/** Glob characters: refused in a name, allowed in a pattern (`tag = "v*"`, matched by git for-each-ref). */
const GLOB = /[*?[]/;

/**
 * Why `name` is no valid git ref name (a pattern when `glob`: `*`, `?` and `[` allowed), or
 * undefined when it is one.
 */
export function refNameProblem(name: string, { glob = false }: { glob?: boolean } = {}): string | undefined {
  if ([...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    return "contains a control character: not a valid git ref name";
  const bad = FORBIDDEN.exec(name)?.[0];
  if (bad !== undefined) return `contains ${bad === " " ? "a space" : `"${bad}"`}: not a valid git ref name`;
  if (!glob && GLOB.test(name))
    return `contains "${GLOB.exec(name)?.[0]}": not a valid git ref name (no glob here)`;
  if (name.startsWith("-")) return 'starts with "-": not a valid git ref name';
  if (name === "@") return 'is "@": not a valid git ref name';
  if (name.includes("..")) return 'contains "..": not a valid git ref name';
  if (name.includes("@{")) return 'contains "@{": not a valid git ref name';
  if (name.startsWith("/") || name.endsWith("/") || name.includes("//"))
    return 'has an empty part (a leading, trailing or doubled "/"): not a valid git ref name';
  if (name.endsWith(".")) return 'ends with ".": not a valid git ref name';
  for (const part of name.split("/")) {
    if (part.startsWith(".")) return `has a part starting with "." (${part}): not a valid git ref name`;
    if (part.endsWith(".lock")) return `has a part ending with ".lock" (${part}): not a valid git ref name`;
  }
  return undefined;
}

/** A branch or tag name (a pattern when `glob`), as a zod schema: the one-line problem as its issue. */
export function gitRefName(options: { glob?: boolean } = {}): z.ZodString {
  return nonEmptyText().superRefine((name, ctx) => {
    const problem = refNameProblem(name, options);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });
}
