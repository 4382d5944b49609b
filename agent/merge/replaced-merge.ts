/**
 * A config ship merged until now that this release replaces whole: its rule became `replace`, or
 * the manifest no longer names it (files no rule names are replaced), or the release ships it as a
 * symlink (never merged), or it no longer ships the file at all (ship removes it, as it removes every file the release drops). No merge runs, so no key
 * report would say that the operator's values went. This names them, as a `replace` strategy's key
 * report does, but only the operator's own: against the previous release's copy when ship has it,
 * so a default the release changed is not called theirs. Key paths only, never the values (a
 * password would land in the log). Pure: the caller reads the copies and says where the old one is.
 */
import type { MergeReport } from "../../shared/protocol/messages.js";
import { type CommentLine, namedComment } from "./comment-names.js";
import { type MergeFormat, parserFor } from "./index.js";
import { commentLinesOf } from "./lost-comments.js";
import { planMerge } from "./plan.js";
import { normaliseReleaseText, normaliseServerText, textFormOf } from "./text-form.js";
import { ABSENT, type Maybe } from "./values.js";

export interface ReplacedMergeInput {
  /** The file's path in the app. */
  file: string;
  /** What this release's manifest says of the file: `files."config.yaml": replace`, or no rule. */
  rule: { pattern: string; action: string } | undefined;
  current: string;
  /** The release's copy; undefined when the release no longer ships the file (it is removed). */
  incoming: string | undefined;
  /** The previous release's copy (ship's own base), when it has one. */
  base: string | undefined;
  /** Where the operator's copy is kept: the backup's copy, and the `.bak` beside it when made. */
  backupCopy: string;
  keepCopy: string | undefined;
}

const SHOWN_KEYS = 20;

/** The report for a replaced config, or undefined when none of the operator's values went. */
export function replacedMergeReport(input: ReplacedMergeInput): MergeReport | undefined {
  const lost = valuesLost(input);
  const comments = commentsLost(input);
  const none = lost !== "unreadable" && lost.updated.length + lost.removed.length + lost.added.length === 0;
  if (none && comments.length === 0) return undefined;
  // Under a merge rule still, a replace means the release ships the file as a symlink: links are
  // never merged (the plan's rule), so naming the rule alone read as if the rule were the cause.
  const linked = input.rule?.action.startsWith("merge_") === true;
  const rule =
    input.rule === undefined
      ? "this release's manifest has no rule for it (a file no rule names is replaced)"
      : linked
        ? `this release ships it as a symlink, which is never merged (files.${JSON.stringify(input.rule.pattern)} is ${input.rule.action})`
        : `this release's rule for it is ${input.rule.action} (files.${JSON.stringify(input.rule.pattern)})`;
  const fate =
    input.incoming === undefined
      ? "this release no longer ships it: it was removed"
      : `${rule}: it was replaced whole with the release's copy`;
  const where = `your copy is in the backup, ${input.backupCopy}${input.keepCopy === undefined ? "" : `, and in ${input.keepCopy}`}`;
  const values =
    lost === "unreadable"
      ? ", and your values in it went (your copy could not be read key by key)"
      : none
        ? ""
        : `, so these values of yours went: ${shown([...lost.updated, ...lost.removed, ...lost.added])}`;
  const notes =
    comments.length === 0 ? "" : `${values === "" ? ", so" : ";"} your comments went: ${shown(comments)}`;
  const went = `${fate}${values}${notes}`;
  const advice =
    input.incoming === undefined
      ? ""
      : linked
        ? " (to keep merging it, ship it as a regular file)"
        : " (to keep merging it, give it a merge rule again)";
  const warning = `${input.file} was merged until now, but ${went}; ${where}${advice}`;
  const keys = lost === "unreadable" ? { added: [], updated: [], removed: [] } : lost;
  return { file: input.file, kept: [], ...keys, warnings: [warning] };
}

function shown(keys: readonly string[]): string {
  const more = keys.length - SHOWN_KEYS;
  return (
    keys.slice(0, SHOWN_KEYS).join(", ") +
    (more > 0 ? ` and ${more} more (the merge report lists them all)` : "")
  );
}

/** The operator's own comments (not shipped by the previous release) that the release's copy lacks. */
function commentsLost(input: ReplacedMergeInput): string[] {
  const format = formatOf(input.file);
  if (format === undefined) return [];
  const shipped = [...commentsIn(format, input.base ?? ""), ...commentsIn(format, input.incoming ?? "")];
  const counts = new Map<string, number>();
  for (const comment of shipped) counts.set(comment, (counts.get(comment) ?? 0) + 1);
  const lost: string[] = [];
  for (const one of commentLinesIn(format, input.current)) {
    const n = counts.get(one.comment) ?? 0;
    if (n > 0) counts.set(one.comment, n - 1);
    else if (one.comment.trim() !== "") lost.push(namedComment(one));
  }
  return lost;
}

/** A copy that does not scan has no comments to name (its values are said unreadable already). */
function commentsIn(format: MergeFormat, text: string): string[] {
  return commentLinesIn(format, text).map(({ comment }) => comment);
}

function commentLinesIn(format: MergeFormat, text: string): CommentLine[] {
  try {
    return commentLinesOf(format, text);
  } catch {
    return [];
  }
}

type Lost = { added: string[]; updated: string[]; removed: string[] } | "unreadable";

function valuesLost(input: ReplacedMergeInput): Lost {
  const format = formatOf(input.file);
  if (format === undefined) return "unreadable";
  const parse = parserFor(format, () => input.file);
  let user: unknown;
  let release: unknown;
  try {
    user = parse(normaliseServerText(input.current, textFormOf(input.current)), "server").value;
    // A dropped file keeps nothing: against an empty release every value of the user's goes.
    release =
      input.incoming === undefined ? {} : parse(normaliseReleaseText(input.incoming), "release").value;
  } catch {
    return "unreadable";
  }
  // What the replace takes away, key by key, as a `replace` merge reports it.
  const replaced = planMerge({ user, release, base: ABSENT, strategy: "replace" });
  const base = readBase(input.base, parse);
  if (base === ABSENT) return replaced;
  // The operator's own changes: what replacing their copy with the previous release's would undo
  // (values they changed or added, keys they deleted).
  const mine = planMerge({ user, release: base, base: ABSENT, strategy: "replace" });
  const own = [...mine.updated, ...mine.removed, ...mine.added];
  // A dropped file takes every value of theirs along, named as deeply as they changed it.
  if (input.incoming === undefined)
    return { added: [], updated: [], removed: [...mine.updated, ...mine.removed] };
  const theirs = (key: string) => own.some((mine) => related(key, mine));
  return {
    added: replaced.added.filter(theirs),
    updated: replaced.updated.filter(theirs),
    removed: replaced.removed.filter(theirs),
  };
}

function readBase(text: string | undefined, parse: ReturnType<typeof parserFor>): Maybe {
  if (text === undefined) return ABSENT;
  try {
    return parse(normaliseReleaseText(text), "previous release").value;
  } catch {
    return ABSENT;
  }
}

/** One key path is the other or lies inside it (`db` and `db.host`). */
function related(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/** The format the file was merged as, from its name (the old rule is not kept). */
function formatOf(file: string): MergeFormat | undefined {
  const ext = file.slice(file.lastIndexOf(".") + 1).toLowerCase();
  if (ext === "yaml" || ext === "yml") return "yaml";
  if (ext === "toml") return "toml";
  if (ext === "json") return "json";
  return undefined;
}
