/**
 * YAML merges edit the server copy's Document in place, so its comments, key order, quoting and
 * blank lines survive; keys taken from the release bring the release's comments with them.
 * Anchors, aliases and `<<` merge keys stay: an edit made through an anchor is not repeated where
 * the anchor is used (yaml-anchors.ts). Only when the in-place edit cannot give the merged values is
 * the file rebuilt from values, and a warning says what that lost.
 */
import {
  Document,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseDocument,
  type Scalar,
  type Tags,
  type ToStringOptions,
  visit,
  YAMLMap,
  type YAMLSeq,
} from "yaml";
import { errorMessage } from "../../shared/errors.js";
import { duplicateKeys } from "../../shared/manifest/duplicate-keys.js";
import { aliasedNodes } from "../../shared/yaml-depth.js";
import { applyEditsToValue } from "./apply-plain.js";
import { LAYOUT_OF, withUserLayout } from "./carry-layout.js";
import { checkValueNesting } from "./nesting.js";
import { type CopyRole, firstWritten, lineColumnAt, parseFailure } from "./parse-error.js";
import type { MergeEdit } from "./plan.js";
import { addsInReleaseOrder } from "./release-order.js";
import { UnusedItems, valueBucket } from "./unused-items.js";
import { ABSENT, childOf, dotted, isTable, keyName, sameValue, valueAt } from "./values.js";
import { alikeKeysThatGo } from "./yaml-alike-keys.js";
import {
  editableMapAt,
  expandAliasesOf,
  expandMergeKeys,
  expandMergesOf,
  followsAnchor,
  hasAliases,
  isMergePair,
  keyText,
  ownPair,
  usedAnchorOf,
  usedAnchorsOnPath,
  valuesOf,
} from "./yaml-anchors.js";
import { namedInPair, noteHolders } from "./yaml-comment-lines.js";
import { notesOfWhatStays } from "./yaml-expansion-notes.js";
import { dropDoubledFirstNote, firstItemNote, placeFirstItemNote } from "./yaml-first-item-note.js";
import {
  blockLikeRelease,
  lastItemComments,
  markOneLineFlows,
  withoutComments,
  writtenOnOneLine,
} from "./yaml-flow-comments.js";
import { markFromRelease, withFoldedLines } from "./yaml-folded-blocks.js";
import { rewrittenNote, rewrittenNotesInside } from "./yaml-item-notes.js";
import { type ReplaceInStyle, shapeChangedItems } from "./yaml-item-shape.js";
import {
  giveKeyLineComment,
  keyLineComment,
  keyLineNoteOf,
  markKeyLineComments,
  takeKeyLineComment,
} from "./yaml-key-line-comment.js";
import { checkYamlAliases, checkYamlNesting } from "./yaml-nesting.js";
import { numberNodeAt, numbersAsSpelled, sameExactFloats, spellNumbers } from "./yaml-numbers.js";
import { removePair } from "./yaml-remove.js";
import {
  passesCommentOn,
  placeOf,
  putShippedComments,
  shippedComments,
  takesOthersComment,
} from "./yaml-shipped-comments.js";
import { shippedItems } from "./yaml-shipped-items.js";
import { customTagAt } from "./yaml-tag-changes.js";
import { yamlValueProblem } from "./yaml-value-problems.js";

export interface ParsedYaml {
  doc: Document;
  value: unknown;
  /** The text parsed (no BOM, LF): the nodes' ranges point into it. */
  text: string;
  /**
   * `value` with each float a double does not hold as an ExactFloat (float-literals.ts): list items
   * pair by it, so `id: 0.1` and `id: 0.10000000000000001` name two items. `value` when absent.
   */
  exact?: unknown;
}

/**
 * YAML 1.2 with `<<` merge keys resolved, as Rails, docker-compose and most YAML configs mean them;
 * numbers are written as spelled (yaml-numbers.ts).
 */
const PARSE_OPTIONS = {
  merge: true,
  // A key that is a list or mapping (`? [a, b]`) is named by its flow text (jsKeyOf); the library's
  // notice saying so went to the run's stderr as a Node "(node:…) Warning" at every merge.
  logLevel: "error",
  // The library's duplicate-key check is quadratic in a mapping's size (a 40,000-line file took
  // over a minute); duplicateKeys() applies the same rule in one pass.
  uniqueKeys: false,
  // Integers as BigInt: `1` (!!int) and `1.0` (!!float) are two types, as in TOML.
  intAsBigInt: true,
  // The known tags a value from toJS() may need to be written again: Uint8Array, Map, Set.
  customTags: (tags: Tags) => numbersAsSpelled([...tags, "binary", "omap", "set"]),
} as const;
const TO_JS = { maxAliasCount: 1000 } as const;

export function parseYaml(text: string, fileName: string, role: CopyRole): ParsedYaml {
  const doc: Document = parseDocument(text, PARSE_OPTIONS);
  checkYamlNesting(doc, text, fileName, role);
  const error = doc.errors[0];
  const duplicate = duplicateKeys(doc)[0];
  // The earlier of the two, as the library's own check reported them in the order of the text.
  if (duplicate !== undefined && (error === undefined || duplicate.offset < (error.pos[0] ?? 0))) {
    const first = firstWritten(text, duplicate.first, duplicate.offset);
    // `on:` then `yes:` in a YAML 1.1 file (both true), or `1.0:` then `1.00:`: spelt apart, one key.
    const twice =
      duplicate.firstKey === duplicate.key
        ? `is written twice in one mapping (also ${first})`
        : `is the key ${JSON.stringify(duplicate.firstKey)} ${first} written again (both read as ${String(duplicate.path.at(-1))})`;
    throw parseFailure(
      fileName,
      role,
      `the key ${JSON.stringify(duplicate.key)} ${twice}; remove one`,
      lineColumnAt(text, duplicate.offset),
    );
  }
  if (error !== undefined) {
    const at = error.linePos?.[0];
    // The position leads the message already; the library's own advice names its API.
    const firstLine = (error.message.split("\n")[0] ?? error.message).replace(
      / at line \d+, column \d+:?$/,
      "",
    );
    const message =
      error.code === "MULTIPLE_DOCS"
        ? "it holds more than one YAML document (a second `---`); a merge needs exactly one"
        : firstLine;
    throw parseFailure(fileName, role, message, at && { line: at.line, column: at.col });
  }
  checkYamlAliases(doc, text, fileName, role);
  lastItemComments(doc, text);
  markKeyLineComments(doc, text);
  markOneLineFlows(doc, text);
  // An empty file is an empty mapping, so update_only can add the release's keys to it; so is one
  // that holds only `---` (read as a null document, it kept the release's changes out as a type
  // conflict, `kept: (the whole file)`).
  if (doc.contents === null || emptyDocument(doc.contents)) {
    const map = new YAMLMap();
    if (isScalar(doc.contents)) {
      map.commentBefore = doc.contents.commentBefore;
      map.comment = doc.contents.comment;
    }
    doc.contents = map;
  }
  let value: unknown;
  try {
    value = valuesOf(doc, TO_JS);
  } catch (error) {
    const problem = yamlValueProblem(doc);
    throw parseFailure(
      fileName,
      role,
      problem?.message ?? errorMessage(error),
      problem && lineColumnAt(text, problem.offset),
    );
  }
  checkValueNesting(value, fileName, role);
  return { doc, value, text };
}

/** A document with nothing after its `---` (no `~`, `null`, tag or anchor: those are a null value). */
function emptyDocument(contents: unknown): boolean {
  return (
    isScalar(contents) &&
    contents.source === "" &&
    contents.value === null &&
    !contents.tag &&
    !contents.anchor
  );
}

/** How every YAML rebuild warning begins, as TOML's full rewrite does (REWRITE_WARNING). */
export const REBUILD_WARNING_START = "rewrote the whole file from values";

/**
 * The warning for the last resort: what it loses, and anchors named only when the file has some (a
 * file without any is rebuilt for other reasons, such as keys 1 and '1' that read alike).
 */
export function rebuildWarning(aliased: boolean, alikeGone: readonly string[] = []): string {
  const how = aliased ? ", through its anchors, aliases and merge keys (<<)," : "";
  const lost = `${REBUILD_WARNING_START} because no edit of the file in place${how} gave the merged values: its comments, blank lines, anchors, aliases, merge keys (<<) and quoting and flow styles were lost (values, number spellings and tags are kept)`;
  if (alikeGone.length === 0) return lost;
  return `${lost}, except that keys reading alike in one mapping became one key holding the last one's value, so the values of these keys went: ${alikeGone.join(", ")}`;
}

export interface YamlRender {
  text: string;
  warnings: string[];
  /** Keys that changed with an anchor they follow, beyond the plan's edits (followedReport). */
  followed?: FollowedReport;
}

export interface FollowedReport {
  added: string[];
  updated: string[];
  removed: string[];
}

/** How one attempt at the in-place edit copies the release's values and treats a changed anchor. */
interface Attempt {
  /** The release's nodes (with their comments), or nodes built from its values. */
  copy: "nodes" | "values";
  /**
   * A value the edit replaces defines an anchor other places alias: the new value takes the anchor
   * (they follow it) or they each get a copy of the old value (they keep it).
   */
  anchors: "carry" | "expand";
}

const ATTEMPTS: readonly Attempt[] = [
  { copy: "nodes", anchors: "carry" },
  { copy: "nodes", anchors: "expand" },
  { copy: "values", anchors: "carry" },
  { copy: "values", anchors: "expand" },
];

/**
 * Tries the edits on the user's Document: first copying the release's nodes (with their comments),
 * then, when those carry aliases the user's file cannot resolve the same way, the release's values;
 * a changed anchored value keeps its anchor, else its aliases keep the old value. An edit the
 * document already shows through an anchor is skipped. Only when no attempt gives the merged
 * values is the file rebuilt from values, with a warning.
 */
export function renderYamlMerge(
  userText: string,
  user: ParsedYaml,
  release: ParsedYaml,
  edits: MergeEdit[],
  /** The previous release's copy, in a three-way merge: says which comments the user left as shipped. */
  base?: ParsedYaml,
): YamlRender {
  if (edits.length === 0) return { text: userText, warnings: [] };
  const expected = applyEditsToValue(user.value, release.value, edits);
  const options = { lineWidth: 0, ...detectLayout(userText), ...flowPadding(release.text, userText) };
  const aliased = hasAliases(user.doc);
  // Without aliases, what an anchor does makes no difference.
  for (const attempt of aliased ? ATTEMPTS : ATTEMPTS.filter((a) => a.anchors === "carry")) {
    try {
      const edited = commentsOnFirstKeys(cloneDocument(user.doc));
      footerToDocument(edited, userText);
      const notes: string[] = [];
      let changed = false;
      // The document's values, read again only after an edit changed them.
      let values: unknown;
      for (const edit of addsInReleaseOrder(edits, (path) => releaseKeyOffset(release, path))) {
        if (aliased) {
          values ??= valuesOf(edited, TO_JS);
          // A tag the release changes (`!Ref`) is no value change: shown only once the tag is there.
          const tagged = customTagAt(edited, edit.path) === customTagAt(release.doc, edit.path);
          const shown = alreadyShown(values, edit, expected) && exactlyShown(edited, release.doc, edit);
          if (shown && (edit.kind === "remove" || tagged)) continue;
        }
        applyEdit(edited, { user, release, base, merged: expected }, edit, attempt, notes);
        values = undefined;
        changed = true;
      }
      if (!changed) return { text: userText, warnings: [] };
      // Folded block scalars as their files wrote them, where that still reads as the merge.
      const texts = { user: userText, release: release.text };
      const folded = withFoldedLines(edited, options, texts);
      const foldedFollowed = folded === undefined ? undefined : followedAnchors(folded, expected, release);
      const text = foldedFollowed === undefined ? edited.toString(options) : (folded as string);
      const followed = foldedFollowed ?? followedAnchors(text, expected, release);
      if (followed === undefined) continue;
      const plainDoc = asEditedStarts(user.doc, userText);
      const plain =
        (text === folded ? withFoldedLines(plainDoc, options, texts) : undefined) ??
        plainDoc.toString(options);
      const check = (t: string) => followedAnchors(t, expected, release) !== undefined;
      const said = notesOfWhatStays(edited, notes);
      const rendered = withUserLayout(userText, plain, text, check, said, LAYOUT_OF.yaml, release.text);
      return { ...rendered, followed: followedReport(followed, user.value) };
    } catch {
      // An alias or merge key stands in the way of this attempt.
    }
  }
  return {
    text: rebuildFromValues(expected, user, release, options),
    warnings: [rebuildWarning(aliased, alikeKeysThatGo(user.doc))],
  };
}

function cloneDocument(doc: Document): Document {
  const copy = doc.clone();
  // clone() forgets a closing `...` marker.
  if (copy.directives && doc.directives) copy.directives.docEnd = doc.directives.docEnd;
  return copy;
}

/**
 * The comment above the first key of an anchored mapping (`default: &default` then `# note` then
 * the key), which the parser keeps on the mapping, put on that key: the library writes a mapping's
 * own comment before its anchor (`default:`, `# note`, `&default`), which matches no line of the
 * user's, so any edit near it was reported as a layout the user lost.
 */
function commentsOnFirstKeys(doc: Document): Document {
  visit(doc, {
    Map(_key, map) {
      const first = map.items[0]?.key;
      if (!commentGoesOnFirstKey(map) || !isScalar(first)) return;
      first.commentBefore = map.commentBefore;
      map.commentBefore = null;
    },
  });
  return doc;
}

function commentGoesOnFirstKey(map: YAMLMap<unknown, unknown>): boolean {
  const first = map.items[0]?.key;
  if (!map.commentBefore || map.anchor === undefined || !isScalar(first)) return false;
  return !(first.commentBefore || first.spaceBefore);
}

/**
 * The user's document as an edited copy starts (commentsOnFirstKeys, footerToDocument), only to be
 * written: the document itself when no comment moves. A second clone of the whole document per
 * attempt was a fifth of a 20,000-key merge's CPU.
 */
function asEditedStarts(doc: Document, userText: string): Document {
  let moves = footerOf(doc, userText) !== undefined;
  if (!moves)
    visit(doc, {
      Map(_key, map) {
        if (!commentGoesOnFirstKey(map)) return;
        moves = true;
        return visit.BREAK;
      },
    });
  if (!moves) return doc;
  const start = commentsOnFirstKeys(cloneDocument(doc));
  footerToDocument(start, userText);
  return start;
}

/**
 * The last resort: the merged values written anew, numbers spelled as the user's (else the
 * release's) file spells them, tagged values (!!binary, !!set, !!omap) with their tags.
 */
export function rebuildFromValues(
  expected: unknown,
  user: ParsedYaml,
  release: ParsedYaml,
  options: ToStringOptions = {},
): string {
  // A `%YAML 1.1` file is written as YAML 1.1 (`on:` stays a boolean, a string "yes" is quoted),
  // directive and `---` included: a reader of YAML 1.2 reads `on:` as the string "on".
  const directives = user.doc.directives;
  const rebuilt = new Document(expected, { ...PARSE_OPTIONS, version: directives?.yaml.version ?? "1.2" });
  spellNumbers(rebuilt.contents, [], [user.doc, release.doc]);
  spellKeys(rebuilt.contents, [user.doc.contents, release.doc.contents]);
  if (directives?.docStart && rebuilt.directives) {
    rebuilt.directives.docStart = true;
    rebuilt.directives.yaml.explicit = directives.yaml.explicit;
  }
  return rebuilt.toString(options);
}

/**
 * Gives each key of a mapping built from values (a string: `"true"`, `"1"`, `"2.0"`) the key node
 * the first of `from` writes for it at the same place, so a rebuilt file writes `on:`, `1:` and
 * `2.0:` as the user did, not quoted strings of another type. Where keys read alike (`1` beside
 * `'1'`), the last one is the key the value came from.
 */
function spellKeys(node: unknown, from: readonly unknown[]): void {
  if (isSeq(node)) {
    node.items.forEach((item, i) => {
      spellKeys(
        item,
        from.map((there) => (isSeq(there) ? there.items[i] : undefined)),
      );
    });
  }
  if (!isMap(node)) return;
  for (const pair of node.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (name === undefined) continue;
    const theirs = from.map((there) =>
      isMap(there) ? there.items.findLast((p) => !isMergePair(p) && keyText(p) === name) : undefined,
    );
    const written = theirs.find((p) => p !== undefined)?.key;
    if (isScalar(written) && written.value !== name) pair.key = written.clone();
    spellKeys(
      pair.value,
      theirs.map((p) => p?.value),
    );
  }
}

/** The edited document's values already have the merged value at the edit's path (through an anchor edited before). */
function alreadyShown(values: unknown, edit: MergeEdit, expected: unknown): boolean {
  const now = valueAt(values, edit.path);
  return edit.kind === "remove" ? now === ABSENT : sameValue(now, valueAt(expected, edit.path));
}

/**
 * Values read as doubles: a float the release writes with more digits than one holds is shown only
 * where the document writes the same decimal, else a changed anchored `0.1` was skipped as shown.
 */
function exactlyShown(edited: Document, release: Document, edit: MergeEdit): boolean {
  return (
    edit.kind === "remove" ||
    sameExactFloats(numberNodeAt(edited, edit.path), numberNodeAt(release, edit.path))
  );
}

/**
 * Whether `text` holds the merged values: undefined when not, else the paths where it differs. A
 * value that follows an anchor may differ where the release also leaves it to an anchor (or does not
 * have it): it follows the user's anchor, as written.
 */
function followedAnchors(text: string, expected: unknown, release: ParsedYaml): Followed | undefined {
  const doc = parseDocument(text, PARSE_OPTIONS);
  if (doc.errors.length > 0 || duplicateKeys(doc).length > 0) return undefined;
  const values: unknown = valuesOf(doc, TO_JS);
  const paths = differences(values, expected);
  const follows = (path: string[]) =>
    followsAnchor(doc, path) && (valueAt(release.value, path) === ABSENT || followsAnchor(release.doc, path));
  return paths.every(follows) ? { paths, values } : undefined;
}

/** Where a merged text differs from the plan's values (each through an anchor), and its values. */
interface Followed {
  paths: string[][];
  values: unknown;
}

/**
 * The key report is the plan's, made from the release's copy: a value of the user's that follows an
 * anchor (a service of their own with `logging: *logging`) took the change made at the anchor where
 * the release's copy has no such value, so the app read a changed value that no list named.
 */
function followedReport({ paths, values }: Followed, user: unknown): FollowedReport {
  const report: FollowedReport = { added: [], updated: [], removed: [] };
  for (const path of paths) {
    const kind =
      valueAt(user, path) === ABSENT ? "added" : valueAt(values, path) === ABSENT ? "removed" : "updated";
    report[kind].push(keyName(path));
  }
  return report;
}

function differences(actual: unknown, expected: unknown, path: string[] = []): string[][] {
  if (isTable(actual) && isTable(expected)) {
    const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
    return [...keys].flatMap((key) =>
      differences(childOf(actual, key), childOf(expected, key), [...path, key]),
    );
  }
  return sameValue(actual, expected) ? [] : [path];
}

function applyEdit(
  target: Document,
  {
    user,
    release,
    base,
    merged,
  }: { user: ParsedYaml; release: ParsedYaml; base: ParsedYaml | undefined; merged: unknown },
  edit: MergeEdit,
  attempt: Attempt,
  notes: string[],
): void {
  if (edit.path.length === 0) {
    const contents = release.doc.contents?.clone();
    markFromRelease(contents);
    spellNumbers(contents, [], [user.doc, release.doc]);
    // A file that is one list (an Ansible tasks file) keeps the user's items, comments and style
    // as a list under a key does: every comment in it went with the release's copy.
    keepUserStyle(target.contents, contents, exactValues(user), exactValues(release));
    target.contents = isNode(contents) ? contents : null;
    return;
  }
  if (attempt.anchors === "expand") {
    // Whatever aliases or merges a mapping the change goes through keeps the old values.
    for (const anchored of usedAnchorsOnPath(target, edit.path.slice(0, -1)))
      detachAnchor(target, anchored, notes);
  }
  // A key the release changed in a mapping the user deleted comes back alone: its mapping is opened
  // anew, under the release's key and the comments above it, holding only what the merge adds.
  const open = (path: readonly string[]) => {
    const shipped = releasePair(release, path);
    const pair = shipped?.clone() ?? target.createPair(path.at(-1), null);
    const map = new YAMLMap();
    if (isMap(shipped?.value)) openedFrom.set(map, shipped.value);
    pair.value = map;
    return pair;
  };
  const parent = editableMapAt(target, edit.path.slice(0, -1), notes, edit.kind === "add" ? open : undefined);
  const key = edit.path[edit.path.length - 1] as string;
  if (edit.kind === "add") blockLikeRelease(target, parent, edit.path.slice(0, -1), key, release.doc);
  let own = ownPair(parent, key);
  if (edit.kind === "remove") {
    // A key the map inherits through `<<` can only go once the merge is expanded into own keys.
    if (own === undefined) {
      expandMergeKeys(target, parent, dotted(edit.path.slice(0, -1)) || "the top level", notes);
      own = ownPair(parent, key);
      if (own === undefined) throw new Error(`${dotted(edit.path)} is not there`);
    }
    if (isNode(own.value) && usedAnchorOf(target, own.value) !== undefined)
      detachAnchor(target, own.value, notes);
    detachAnchorsInside(target, own.value, undefined, notes);
    // Its comment goes along, a header above it stays (yaml-remove.ts); one the release now writes
    // above the key that followed stays for that key.
    removePair(parent, own, passesCommentOn({ map: parent, pair: own }, edit.path, release.doc, base?.doc));
    return;
  }
  const source = releasePair(release, edit.path);
  const useValue = attempt.copy === "values" || source === undefined;
  const value = useValue ? target.createNode(valueAt(release.value, edit.path)) : cloneValue(source.value);
  markFromRelease(value);
  // The user's spelling of a number the release leaves equal, else the release's own.
  spellNumbers(value, edit.path, [user.doc, release.doc]);
  if (own === undefined) {
    // New, or overriding what `<<` gives (an own key wins over merged ones).
    const pair = useValue || source === undefined ? target.createPair(key, null) : source.clone();
    pair.value = value;
    if (
      isScalar(pair.key) &&
      takesOthersComment(edit.path, release.doc, (base ?? user).doc, { user: user.doc, merged })
    )
      pair.key.commentBefore = null;
    if (writtenOnOneLine(parent)) withoutComments(pair);
    parent.items.push(pair);
    withFirstKeyNotes(target, edit.path);
  } else {
    // Keep the user's key node (and the comments above it); take the release's value, in the
    // user's style. Comments the user left as the previous release shipped them take the release's.
    const place = { map: parent, pair: own };
    const oneLine = writtenOnOneLine(parent);
    if (oneLine) withoutComments(value);
    const shipped =
      base === undefined || oneLine ? {} : shippedComments(place, edit.path, release.doc, base.doc);
    const shippedNode = base === undefined ? undefined : placeOf(base.doc, edit.path)?.pair.value;
    // One the user left as the previous release shipped it is the release's to change.
    const onKeyLine = keyLineComment(own, shippedNode);
    const giveBack = onKeyLine === undefined ? undefined : takeKeyLineComment(own);
    const moved = keepUserStyle(
      own.value,
      value,
      valueAt(exactValues(user), edit.path),
      valueAt(exactValues(release), edit.path),
      shippedNode,
    );
    if (onKeyLine !== undefined && giveKeyLineComment(value, onKeyLine)) moved.push(onKeyLine);
    // A comment the previous release shipped there, gone with its value, is the release's change.
    const theirs = [...commentsIn(value), ...commentsIn(shippedNode)];
    const lost = commentsIn(own.value).filter((c) => !moved.includes(c) && !theirs.includes(c));
    const gone = lost.filter((c) => !keptAboveKey(own, value, c));
    giveBack?.();
    if (gone.length > 0) {
      notes.push(
        `${keyName(edit.path)}: the release's value replaced yours, and your comments inside it went with it (${namedInPair(user.text, own, gone).join(", ")})`,
      );
    }
    const anchor = usedAnchorOf(target, own.value);
    if (anchor !== undefined) {
      if (attempt.anchors === "carry" && isNode(value) && !isAlias(value)) value.anchor = anchor;
      else if (isNode(own.value)) detachAnchor(target, own.value, notes);
    }
    detachAnchorsInside(target, own.value, value, notes);
    own.value = value;
    putShippedComments(place, shipped);
  }
}

/** Each mapping the merge opened anew (open, in applyEdit), by the release's mapping it stands for. */
const openedFrom = new WeakMap<YAMLMap<unknown, unknown>, YAMLMap<unknown, unknown>>();

/**
 * A mapping opened anew holds only the keys the merge adds. The release's comment above its first
 * key is held by the release's mapping, not by that key (`db:` then `# host of db` then `host:`),
 * so it went, with no word, where the key came: it comes with the key when that key is first in
 * both, at every mapping opened along `path`.
 */
function withFirstKeyNotes(target: Document, path: readonly string[]): void {
  let node: unknown = target.contents;
  for (const key of path) {
    if (!isMap(node)) return;
    const shipped = openedFrom.get(node);
    const first = (map: YAMLMap<unknown, unknown>) => map.items.find((pair) => !isMergePair(pair));
    const mine = first(node);
    const theirs = shipped === undefined ? undefined : first(shipped);
    if (shipped !== undefined && node.commentBefore == null && mine !== undefined && theirs !== undefined) {
      if (keyText(mine) === key && keyText(theirs) === key) node.commentBefore = shipped.commentBefore;
    }
    node = ownPair(node, key)?.value;
  }
}

/**
 * Comment lines at the top level below the file's last nested mapping or list (a footer, `# managed
 * by ops`) are held by that mapping, or by the last item of a list in it, so a key the merge added
 * at the top level, or an item the release added after that one, landed below them, the footer now
 * above it. From the first such line (written at column 0 in the user's text, also right under an
 * indented comment of the item's own) they become the document's closing comment, which is written
 * after the last key. Done on the user's document before any edit and on the text the merge is
 * compared with (asEditedStarts), so where nothing moves the footer the user's lines stay as written.
 */
function footerToDocument(target: Document, userText: string): void {
  const found = footerOf(target, userText);
  if (found === undefined) return;
  const { node, lines, at } = found;
  const kept = lines.slice(0, at).join("\n").replace(/\n+$/, "");
  node.comment = kept === "" ? null : kept;
  const footer = lines.slice(at).join("\n");
  target.comment = target.comment ? `${footer}\n\n${target.comment}` : footer;
}

/** The node holding the footer, its comment's lines and the first line of the footer. */
function footerOf(
  doc: Document,
  userText: string,
): { node: YAMLMap | YAMLSeq; lines: string[]; at: number } | undefined {
  if (!isMap(doc.contents)) return undefined;
  let columnZero: Set<string> | undefined;
  let node: unknown = doc.contents.items.at(-1)?.value;
  while (isMap(node) || isSeq(node)) {
    if (node.comment) {
      columnZero ??= new Set(userText.split("\n"));
      const lines = node.comment.split("\n");
      const at = lines.findIndex((line) => line !== "" && columnZero?.has(`#${line}`));
      if (at !== -1) return { node, lines, at };
    }
    const last: unknown = node.items.at(-1);
    node = isPair(last) ? last.value : last;
  }
  return undefined;
}

/**
 * An anchor inside a value that goes (`- &a` on a list item the release drops, `inner: &i` under a
 * removed key) left the aliases of it elsewhere (`backup: *a`) pointing at nothing, so no edit in
 * place held and the whole file was rebuilt from values, every comment lost. Each such anchor the
 * new value does not carry (as the user's item kept whole does) is detached first: its aliases
 * and merges get their own copies (WARNING), as for an anchored value the release replaces.
 */
function detachAnchorsInside(target: Document, old: unknown, value: unknown, notes: string[]): void {
  if (!isNode(old)) return;
  const carried = new Set<string>();
  if (isNode(value))
    visit(value, {
      Node(_key, node) {
        if (node.anchor) carried.add(node.anchor);
      },
    });
  const dropped: Node[] = [];
  // One walk of the document for every anchor inside, made only once one is met.
  let used: ReadonlySet<unknown> | undefined;
  visit(old, {
    Node(_key, node) {
      if (node === old || !node.anchor || carried.has(node.anchor)) return;
      used ??= aliasedNodes(target);
      if (usedAnchorOf(target, node, used) !== undefined) dropped.push(node);
    },
  });
  for (const node of dropped) detachAnchor(target, node, notes);
}

/**
 * Everything that takes its value from `anchor` keeps the value it shows now, as its own: a map that
 * merges it (`<<: *anchor`) gets own keys, an alias a copy. Merges first: an alias under `<<` copied
 * alone would leave a `<<:` holding an inline mapping, a form nobody writes.
 */
function detachAnchor(target: Document, anchored: Node, notes: string[]): void {
  expandMergesOf(target, anchored, notes);
  expandAliasesOf(target, anchored, notes);
}

/** A copy's values as its list items pair: floats as written, where the merge read them so. */
function exactValues(copy: ParsedYaml): unknown {
  return "exact" in copy ? copy.exact : copy.value;
}

/**
 * The release's `value` in place of the user's `old`, in the user's style: a list written as `- a`
 * lines stays so, one written `[a, b]` stays on its line, the user's comments on its line, above it
 * and on the list items the release keeps stay. The comments it carried over.
 */
function keepUserStyle(
  old: unknown,
  value: unknown,
  oldValue: unknown,
  newValue: unknown,
  /** The previous release's node there, in a three-way merge. */
  base?: unknown,
): string[] {
  keepCollectionStyle(old, value);
  const moved = [keepLineComment(old, value), keepCommentAbove(old, value)];
  return [...moved.filter((c) => c !== undefined), ...keepItemComments(old, value, oldValue, newValue, base)];
}

const inUserStyle: ReplaceInStyle = (old, theirs, oldValue, newValue) => {
  const value = cloneValue(theirs);
  keepUserStyle(old, value, oldValue, newValue);
  return value;
};

/**
 * A list or mapping the release replaces whole (a list is one value) is written block or flow as the
 * user's was, as JSON keeps a user's one-line or multi-line array: the release's `hosts: [a, b, c]`
 * replaced the user's `- a` lines with a flow list, and a user's `[a, b]` became `- a` lines.
 */
function keepCollectionStyle(old: unknown, value: unknown): void {
  if (!(isSeq(old) || isMap(old)) || !(isSeq(value) || isMap(value)) || isSeq(old) !== isSeq(value)) return;
  // An empty one (`[]`) shows no style of the user's, and is written flow whatever its style.
  if (old.items.length === 0 || value.items.length === 0) return;
  if (old.flow === true) {
    // The release's comment on its key's line (`hosts:  # c` over `- a` lines) is the user's after
    // the flow value (`hosts: [a]  # c`), not one inside: counted so, the list came as block lines
    // with it on a line of its own.
    const whole = value.commentBefore;
    const note = keyLineNoteOf(value);
    const after = old.comment?.split("\n")[0];
    if (note !== undefined && after?.trim() === note.trim())
      value.commentBefore = whole?.split("\n").slice(1).join("\n") || null;
    // The release's comments inside it would spread a flow list over lines around them.
    if (commentsIn(value).length === 0) value.flow = true;
    else value.commentBefore = whole;
    return;
  }
  toBlock(value);
}

/**
 * A flow collection written as block lines, and the collections inside it with it, as a user
 * writing `- name: a` lines writes the items too. What the release itself writes in block lines
 * keeps its flow parts: a new container's `command: ["envoy", "-c"]` or `resources: {limits: …}`
 * came as block lines, written so by neither file.
 */
function toBlock(node: YAMLMap | YAMLSeq): void {
  const flow = node.flow === true;
  if (node.items.length > 0) node.flow = false;
  if (!flow) return;
  for (const item of node.items) {
    const child: unknown = isPair(item) ? item.value : item;
    if (isMap(child) || isSeq(child)) toBlock(child);
  }
}

/**
 * A block list the release replaces keeps the user's comments on the items it still holds (`- "80:80"
 * # http`, `# ops: primary` above `- db1`), matched by value, and those above and below the list:
 * they went with the old list, and a WARNING named them. Only the comments of dropped items go.
 */
function keepItemComments(
  old: unknown,
  value: unknown,
  oldValues: unknown,
  newValues: unknown,
  base: unknown,
): string[] {
  if (!isSeq(old) || !isSeq(value)) return [];
  // A flow list (`[a, b]`) holds no comments of its items; its items' spellings stay all the same.
  const block = old.flow !== true && value.flow !== true;
  const moved: string[] = [];
  const carry = (from: Scalar | YAMLSeq, to: Scalar | YAMLSeq, before = true) => {
    if (!block) return;
    if (before && from.commentBefore && !to.commentBefore) {
      to.commentBefore = from.commentBefore;
      to.spaceBefore = from.spaceBefore;
      moved.push(from.commentBefore);
    }
    if (from.comment && !to.comment) {
      to.comment = from.comment;
      moved.push(from.comment);
    }
  };
  const note = block ? firstItemNote(old, value, base) : undefined;
  if (note !== undefined) moved.push(note.whole);
  carry(old, value, note === undefined);
  // The release's comments above its items, before the user's items take their places.
  const theirNotes = value.items.map((item) => (isNode(item) ? item.commentBefore : undefined));
  // Where the user's first item is now, for the note above it.
  let firstAt: number | undefined;
  // An item the release keeps is the user's, spelling too (`- '80:80'` stayed `- "80:80"`, `- 8080:8080`
  // became quoted), with the release's comments where the user wrote none.
  const scalars = old.items.filter(isScalar);
  const unused = new UnusedItems(scalars.length);
  const alike = unused.index(scalars.map((mine) => valueBucket(mine.value)));
  value.items.forEach((item, index) => {
    if (!isScalar(item)) return;
    const at = alike(valueBucket(item.value), (u) => {
      const mine = scalars[u] as Scalar;
      return sameValue(mine.value, item.value) && sameExactFloats(mine, item);
    });
    const mine = at === undefined ? undefined : scalars[unused.take(at) as number];
    if (mine === undefined) return;
    if (mine === old.items[0]) firstAt = index;
    const kept = mine.clone() as Scalar;
    kept.commentBefore = null;
    kept.comment = null;
    kept.spaceBefore = item.spaceBefore;
    carry(mine, kept);
    const shipped = shippedItems(base)?.alike(item);
    kept.commentBefore = rewrittenNote(mine, item, shipped, "commentBefore");
    kept.comment = rewrittenNote(mine, item, shipped, "comment");
    kept.commentBefore ??= item.commentBefore;
    kept.comment ??= item.comment;
    value.items[index] = kept;
  });
  if (block) firstAt ??= keepCollectionItems(old, value, oldValues, newValues, base, moved);
  if (block) flowLikeSiblings(old, value);
  if (note !== undefined)
    placeFirstItemNote(old, value, note, firstAt, firstAt === undefined ? undefined : theirNotes[firstAt]);
  if (block) dropDoubledFirstNote(value, base);
  return moved;
}

/**
 * A block list whose mapping and list items the user writes each on one line (`- {id: 1, p: 1}`)
 * keeps that form for the items the release changes or adds there: they came as the release's
 * block lines among the user's one-line ones. An item holding the release's comments stays in lines.
 */
function flowLikeSiblings(old: YAMLSeq, value: YAMLSeq): void {
  const collections = old.items.filter((item) => isMap(item) || isSeq(item));
  if (collections.length === 0 || collections.some((item) => item.flow !== true)) return;
  for (const item of value.items)
    if ((isMap(item) || isSeq(item)) && item.flow !== true && commentsIn(item).length === 0) item.flow = true;
}

/**
 * A mapping or list item the release keeps whole (a Kubernetes container, a compose volume entry)
 * is the user's item, comments and spellings inside it included; one the release changed (a
 * container's image bumped) is the user's item edited to its values. Where the user's first item
 * is now, if it is one of them.
 */
function keepCollectionItems(
  old: YAMLSeq,
  value: YAMLSeq,
  oldValues: unknown,
  newValues: unknown,
  base: unknown,
  moved: string[],
): number | undefined {
  if (!Array.isArray(oldValues) || !Array.isArray(newValues) || oldValues.length !== old.items.length)
    return undefined;
  if (newValues.length !== value.items.length) return undefined;
  let firstAt: number | undefined;
  const free = new Set(old.items.keys());
  const taken = new Set<number>();
  const unused = new UnusedItems(old.items.length);
  const alike = unused.index(oldValues.map(valueBucket));
  value.items.forEach((item, index) => {
    if (!(isMap(item) || isSeq(item))) return;
    const at = alike(valueBucket(newValues[index]), (mine) => {
      const node = old.items[mine];
      return (
        (isMap(node) || isSeq(node)) &&
        sameValue(oldValues[mine], newValues[index]) &&
        sameExactFloats(node, item)
      );
    });
    if (at === undefined) return;
    unused.take(at);
    free.delete(at);
    taken.add(index);
    if (at === 0) firstAt = index;
    const mine = old.items[at] as YAMLMap | YAMLSeq;
    const kept = mine.clone() as YAMLMap | YAMLSeq;
    const shipped = shippedItems(base)?.alike(item);
    kept.commentBefore = rewrittenNote(mine, item, shipped, "commentBefore");
    rewrittenNotesInside(kept, item, shipped);
    value.items[index] = kept;
    moved.push(...commentsIn(mine));
  });
  const commented = (item: YAMLMap | YAMLSeq) => commentsIn(item).length > 0;
  const paired = shapeChangedItems(
    old,
    value,
    { old: oldValues, value: newValues, taken, free, commented, base },
    inUserStyle,
  );
  return firstAt ?? paired.get(0);
}

/**
 * The user's comment after a one-line value (`port: 8080  # http`) stays on the line when the value
 * changes, as it does in TOML; a release comment there gives way to it. A block scalar holds its
 * comment on its `|` or `>` line (`script: | # run at boot`), where a scalar written in its place
 * keeps it too: it went with the old text, named in a WARNING, though it had a line to stay on.
 */
function keepLineComment(old: unknown, value: unknown): string | undefined {
  const onTheLine = (node: unknown): node is Scalar | YAMLMap | YAMLSeq => isScalar(node) || oneLine(node);
  if (!onTheLine(old) || !onTheLine(value) || !old.comment) return undefined;
  if (!(isScalar(old) && isScalar(value)) && !(oneLine(old) && oneLine(value))) return undefined;
  value.comment = old.comment;
  return old.comment;
}

/**
 * The user's comment between a key and its one-line scalar value (`key:` then `# why` then the
 * value, or `key: # why`) stays above the new one: it is about the key, and went with the old value.
 */
function keepCommentAbove(old: unknown, value: unknown): string | undefined {
  if (!isScalar(old) || !isScalar(value) || !oneLine(old) || !oneLine(value)) return undefined;
  if (!old.commentBefore || value.commentBefore) return undefined;
  value.commentBefore = old.commentBefore;
  return old.commentBefore;
}

/** The comments written inside a node (and after it, for a collection). */
/**
 * The comment after a value the release turns into a block mapping or list (`a: 1   # note` →
 * `a:` with keys under it) stays on the key's line (`a:   # note`), the line it was written on:
 * put above the key, it read as a note about the key before, with no word that it moved. Whether
 * `comment` was so kept.
 */
function keptAboveKey(own: Pair, value: unknown, comment: string): boolean {
  if (!isScalar(own.value) || own.value.comment !== comment) return false;
  if (!(isMap(value) || isSeq(value)) || value.flow === true || !isScalar(own.key)) return false;
  // The library writes a key's own comment after its colon, on the key's line.
  if (own.key.comment) return false;
  own.key.comment = comment;
  return true;
}

function commentsIn(node: unknown): string[] {
  const found: string[] = [];
  if (!isNode(node)) return found;
  for (const holder of noteHolders(node))
    for (const text of [holder.commentBefore, holder.comment])
      if (text && !found.includes(text)) found.push(text);
  return found;
}

function oneLine(node: unknown): node is Scalar | YAMLMap | YAMLSeq {
  if (isScalar(node)) return node.type !== "BLOCK_FOLDED" && node.type !== "BLOCK_LITERAL";
  return (isMap(node) || isSeq(node)) && node.flow === true;
}

/** The release's own pair at `path`, when the release writes it there (not through `<<` or an alias). */
function releasePair(release: ParsedYaml, path: readonly string[]): Pair<unknown, unknown> | undefined {
  return placeOf(release.doc, path)?.pair;
}

/** Where the release's text writes the key at `path`. */
function releaseKeyOffset(release: ParsedYaml, path: readonly string[]): number | undefined {
  const key = releasePair(release, path)?.key;
  return isNode(key) ? key.range?.[0] : undefined;
}

function cloneValue(value: unknown): unknown {
  return typeof value === "object" &&
    value !== null &&
    typeof (value as { clone?: unknown }).clone === "function"
    ? (value as { clone(): unknown }).clone()
    : value;
}

/** The user's indent width and whether block sequences under a key are indented. */
function detectLayout(text: string): { indent?: number; indentSeq?: boolean } {
  const layout: { indent?: number; indentSeq?: boolean } = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i + 1 < lines.length; i++) {
    const line = lines[i] as string;
    if (!/^\s*[^\s#-][^#]*:\s*(#.*)?$/.test(line)) continue;
    const next = lines.slice(i + 1).find((l) => l.trim() !== "" && !l.trim().startsWith("#"));
    if (next === undefined) break;
    const outer = indentOf(line);
    const inner = indentOf(next);
    if (next.trimStart().startsWith("- ")) {
      layout.indentSeq ??= inner > outer;
    } else if (inner > outer) {
      layout.indent ??= inner - outer;
    }
    if (layout.indent !== undefined && layout.indentSeq !== undefined) break;
  }
  return layout;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * Whether flow collections are written `[ a, b ]` or `[a, b]`: as the release writes the ones it
 * brings (a new `ports: [80]` came as `[ 80 ]`), else as the user writes theirs; the library's
 * padded default when neither writes any. Lines the merge did not change keep the user's text.
 */
function flowPadding(...texts: string[]): { flowCollectionPadding?: boolean } {
  for (const text of texts) {
    // Undecided (both, or neither) where the text has no flow collection or mixes the two.
    const padded = /[[{] +[^\s\]}#]/.test(text);
    const tight = /[[{][^\s\]}#]/.test(text);
    if (padded !== tight) return { flowCollectionPadding: padded };
  }
  return {};
}
