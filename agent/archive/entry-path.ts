/**
 * Pure checks on the names inside an archive: every path an entry creates, and every link target,
 * must stay inside the release. Lexical only; extract.ts adds the checks that need the disk.
 */
import { posix } from "node:path";

/** Why a name is refused, or the normalized relative components. */
export type PathVerdict = { ok: true; parts: string[] } | { ok: false; reason: string };

/**
 * U+FFFD is what decoding puts in place of bytes that are not UTF-8. ship's paths are strings (the
 * install index, the manifest's globs, the journal), so such a name would be installed renamed, or,
 * from a directory, not be found again at all: every source refuses it instead. (A name that holds
 * U+FFFD itself is refused too; it cannot be told apart once decoded.)
 */
export const NOT_UTF8 = "\uFFFD";
export const NOT_UTF8_REASON =
  "is not valid UTF-8 (shown with ? for those bytes): ship installs UTF-8 names only";

/** `name` with the undecodable bytes shown as ?, for messages. */
export function shownName(name: string): string {
  return name.replaceAll(NOT_UTF8, "?");
}

/** Normalize an entry name to its components; refuse absolute names, `..`, NUL bytes and non-UTF-8. */
export function entryParts(name: string): PathVerdict {
  if (name.includes("\0")) return { ok: false, reason: "contains a NUL byte" };
  if (name.includes(NOT_UTF8)) return { ok: false, reason: NOT_UTF8_REASON };
  if (name.startsWith("/") || /^[A-Za-z]:[\\/]/.test(name))
    return { ok: false, reason: "is an absolute path" };
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return { ok: false, reason: "contains `..`" };
  return { ok: true, parts };
}

/**
 * Where a symlink at `linkParts` pointing to `target` lands, relative to the release root, or a
 * reason it leaves the release. Absolute targets are refused even when they would happen to point
 * back inside: the release is moved after extraction, so they would not.
 */
export function symlinkTargetParts(linkParts: string[], target: string): PathVerdict {
  if (target === "") return { ok: false, reason: "has an empty target" };
  if (target.includes("\0")) return { ok: false, reason: "target contains a NUL byte" };
  if (target.includes(NOT_UTF8)) return { ok: false, reason: `target ${NOT_UTF8_REASON}` };
  if (target.startsWith("/")) return { ok: false, reason: `points to the absolute path ${target}` };
  const stack = linkParts.slice(0, -1);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (stack.length === 0) return { ok: false, reason: `points outside the release (${target})` };
      stack.pop();
    } else {
      stack.push(part);
    }
  }
  return { ok: true, parts: stack };
}

export function joinParts(parts: string[]): string {
  return posix.join(...parts);
}
