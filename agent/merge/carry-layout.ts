/**
 * Puts the user's layout back on a merge that a library wrote. The YAML and JSON merges edit values
 * and let a library write the text, which spaces, quotes, folds and indents in its own way. Here the
 * library's text of the user's unchanged values (`plain`) is the common ancestor of two texts: the
 * user's own (`original`, the layout) and the library's text of the merged values (`edited`, the
 * change). A three-way merge of lines, then of characters within a line both changed, takes the
 * user's line wherever the merge did not touch it and the merge's change wherever it did, so
 * `port: 8080      # http` becomes `port: 9090      # http`. Where the two overlap the merge's line
 * wins and the user's line is reported as lost. The caller re-parses the result and keeps it only
 * when it means the merged values.
 */

import { namesComment } from "./comment-names.js";
import { matches } from "./line-diff.js";

export interface CarriedLayout {
  text: string;
  /** 1-based numbers of the user's lines whose layout gave way to the library's. */
  lost: number[];
}

export function carryLayout(
  original: string,
  plain: string,
  edited: string,
  /** The release's own text: a line the merge wrote from it takes its spacing before a comment. */
  release?: string,
): CarriedLayout {
  const spacedAsRelease = releaseSpacing(release);
  if (original === plain && spacedAsRelease === undefined) return { text: edited, lost: [] };
  const o = linesOf(original);
  const b = linesOf(plain);
  const e = linesOf(edited);
  const lost: number[] = [];
  const moved = movedLines(o.lines, b.lines, e.lines);
  const lines = merge3(
    o.lines,
    b.lines,
    e.lines,
    (region) => {
      // The user's own lines the merge moved here are in their layout already: not indented again.
      const own = new Set<number>();
      const edited = region.edited.map((line, i) => {
        const mine = moved(line, region.editedStart + i);
        if (mine !== undefined) own.add(i);
        return mine ?? line;
      });
      const merged = pairLines({ ...region, edited }, spacedAsRelease, { lines: b.lines, own });
      lost.push(...merged.lost.map((i) => region.originalStart + i + 1));
      return merged.lines;
    },
    withoutSpacing,
    (theirs, at) =>
      indentLikeUser(theirs, b.lines, at.original, at).map(
        (line, i) => moved(theirs[i] as string, at.editedStart + i) ?? spacedAsRelease?.(line) ?? line,
      ),
  );
  // A file without a final newline keeps going without one (and one with it keeps it).
  const keepsOwn = o.lines.length > 0 && plain.endsWith("\n") === edited.endsWith("\n");
  const finalNewline = keepsOwn ? o.finalNewline : e.finalNewline;
  return { text: lines.join("\n") + (finalNewline && lines.length > 0 ? "\n" : ""), lost };
}

/**
 * The user's own line for a line of the library's that the merge moved (a list item the release
 * kept but put elsewhere), each taken once: a moved line is a deletion and an insertion to a diff,
 * so it came in the library's spacing (`- "80:80"   # http` became `- "80:80" # http`), where an
 * unmoved one keeps the user's. Only lines the user spaced alone, text and comment as the library
 * writes them, and only where the library's line is gone from its place in the merge. A line the
 * merge also changed is found by its index in `edited` (movedAndChanged).
 */
function movedLines(
  original: readonly string[],
  plain: readonly string[],
  edited: readonly string[],
): (line: string, at: number) => string | undefined {
  const inPlace = matches(plain, edited);
  if (!inPlace.includes(-1)) return () => undefined;
  const toOriginal = matches(plain.map(withoutSpacing), original.map(withoutSpacing));
  const mine = new Map<string, string[]>();
  plain.forEach((line, i) => {
    const user = original[toOriginal[i] ?? -1];
    if (inPlace[i] !== -1 || user === undefined || user === line) return;
    mine.set(line, [...(mine.get(line) ?? []), user]);
  });
  const changed = movedAndChanged(plain, edited, inPlace, (i) => original[toOriginal[i] ?? -1]);
  return (line, at) => mine.get(line)?.shift() ?? changed.get(at);
}

/**
 * Edited index → the user's layout for a line the merge changed in a list item the release moved
 * (`port: 1      # ops: a` in an item moved below its sibling, its port now 5): merged as a changed
 * line is, else it came in the library's spacing, unsaid. Its layout is taken only from the line
 * of the same key under the same item in the user's copy, the item found by its first line moved
 * unchanged, or, its first line changed, by that line's key and comment and the rest of the item
 * (a layout looked up by key and comment file-wide took another line's spacing).
 */
function movedAndChanged(
  plain: readonly string[],
  edited: readonly string[],
  inPlace: readonly number[],
  user: (plainIndex: number) => string | undefined,
): Map<number, string> {
  const layouts = new Map<number, string>();
  const placed = new Set(inPlace);
  const gone = new Map<string, number[]>();
  plain.forEach((line, i) => {
    if (inPlace[i] === -1 && ITEM_START.test(line)) gone.set(line, [...(gone.get(line) ?? []), i]);
  });
  if (gone.size === 0) return layouts;
  const itemFrom = new Map<number, number>();
  edited.forEach((line, j) => {
    const from = placed.has(j) || !ITEM_START.test(line) ? undefined : gone.get(line)?.shift();
    if (from !== undefined) itemFrom.set(j, from);
  });
  const taken = new Set<number>();
  const take = (j: number, from: number) => {
    taken.add(from);
    const mine = user(from);
    const merged =
      mine === undefined ? undefined : mergeLine(mine, plain[from] as string, edited[j] as string);
    if (merged !== undefined && mine !== plain[from]) layouts.set(j, merged);
  };
  const goneStarts = [...gone.values()].flat();
  // An item the release moved and changed on its first line (`- {name: a, port: 1}     # x`, or
  // `- port: 1      # x` over lines it left alone), its line gone from its place: found by its key,
  // the comment after it and the rest of the item as it was. Of several alike, the one whose text
  // shares the longest start with the line is it (the item itself, where it kept its place among
  // siblings the diff did not match): the first that fit took another item's spacing.
  edited.forEach((line, j) => {
    const comment = trailingComment(line);
    if (placed.has(j) || itemFrom.has(j) || !ITEM_START.test(line) || comment === undefined) return;
    const rest = itemBody(edited, j);
    const candidates = goneStarts.filter(
      (i) =>
        !taken.has(i) &&
        leadOf(plain[i] as string) === leadOf(line) &&
        trailingComment(plain[i] as string)?.comment === comment.comment &&
        same(itemBody(plain, i), rest),
    );
    const from = closest(candidates, (i) => plain[i] as string, line);
    if (from === undefined) return;
    take(j, from);
    itemFrom.set(j, from);
  });
  edited.forEach((line, j) => {
    if (placed.has(j) || itemFrom.has(j) || layouts.has(j)) return;
    const from = itemFrom.get(itemStartOf(edited, j) ?? -1);
    if (from === undefined) return;
    const at = itemLines(plain, from).find(
      (i) => inPlace[i] === -1 && !taken.has(i) && leadOf(plain[i] as string) === leadOf(line),
    );
    if (at !== undefined) take(j, at);
  });
  return layouts;
}

/** Of `candidates`, the one whose text shares the longest start with `line` (the first of equals). */
function closest(
  candidates: readonly number[],
  text: (i: number) => string,
  line: string,
): number | undefined {
  const shared = (other: string) => {
    let n = 0;
    while (n < other.length && other[n] === line[n]) n++;
    return n;
  };
  let best: number | undefined;
  for (const i of candidates) if (best === undefined || shared(text(i)) > shared(text(best))) best = i;
  return best;
}

/** A YAML list item's first line (`- name: a`, `-`). */
const ITEM_START = /^[ \t]*-(?:[ \t]|$)/;

/** The index of the first line of the list item that holds lines[at]; undefined when none does. */
function itemStartOf(lines: readonly string[], at: number): number | undefined {
  let limit = indentOf(lines[at] as string);
  for (let i = at - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (isBlankOrComment(line) || indentOf(line) >= limit) continue;
    if (ITEM_START.test(line)) return i;
    limit = indentOf(line);
  }
  return undefined;
}

/** The keys and values under the list item whose first line is lines[start], comments aside. */
function itemBody(lines: readonly string[], start: number): string[] {
  return itemLines(lines, start)
    .map((i) => lines[i] as string)
    .filter((line) => !isBlankOrComment(line));
}

/** The indexes of the lines under the list item whose first line is lines[start]. */
function itemLines(lines: readonly string[], start: number): number[] {
  const indent = indentOf(lines[start] as string);
  const under: number[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!isBlankOrComment(line) && indentOf(line) <= indent) break;
    under.push(i);
  }
  return under;
}

/**
 * A line the merge wrote from the release's copy (a key it added, a mapping opened anew for a key
 * the release changed) with a comment after it: the library writes one space before the `#`, where
 * the release's line set it apart (`x: 5      # five`). Its line in the release's text, the same
 * text bar white space, gives that spacing, each release line taken once. Undefined when the
 * release spaces no comment otherwise than the library does.
 */
function releaseSpacing(release: string | undefined): ((line: string) => string) | undefined {
  if (release === undefined) return undefined;
  const own = new Map<string, string[]>();
  for (const line of linesOf(release).lines) {
    // One space is how the library writes it already.
    const comment = trailingComment(line);
    if (comment === undefined || comment.gap === " " || comment.before.trim() === "") continue;
    const key = withoutSpacing(line);
    own.set(key, [...(own.get(key) ?? []), line]);
  }
  if (own.size === 0) return undefined;
  return (line) => {
    const written = trailingComment(line);
    // A comment line of its own is placed by its indentation, not by a gap.
    if (written === undefined || written.before.trim() === "") return line;
    const theirs = own.get(withoutSpacing(line))?.shift();
    const spaced = theirs === undefined ? undefined : trailingComment(theirs);
    if (spaced === undefined || spaced.comment !== written.comment) return line;
    return `${written.before}${spaced.gap}${written.comment}`;
  };
}

function linesOf(text: string): { lines: string[]; finalNewline: boolean } {
  const finalNewline = text.endsWith("\n");
  const body = finalNewline ? text.slice(0, -1) : text;
  return { lines: body === "" && !finalNewline ? [] : body.split("\n"), finalNewline };
}

/**
 * Lines only the merge wrote (new keys), indented as the user indents their neighbours: a user who
 * nests a mapping 4 spaces deep where the library writes 2 gets the new key 4 spaces deep too,
 * else it would not even belong to that mapping. The first line with a sibling (same depth in the
 * library's text, before or after the insertion) takes that sibling's indentation in the user's text;
 * one without a sibling is moved as its parent was; lines nested under an inserted line move with it.
 * The indentation is replaced as text, not shifted by a count: with tabs and spaces mixed, a count
 * of characters put spaces before the library's tab (`   \t` where the user wrote 4 spaces).
 */
function indentLikeUser(
  theirs: string[],
  base: readonly string[],
  original: { line: (baseIndex: number) => string | undefined },
  at: { start: number; end: number },
): string[] {
  const open: { indent: number; move: Reindent | undefined }[] = [];
  return theirs.map((line) => {
    if (line.trim() === "") return line;
    const indent = indentOf(line);
    while ((open.at(-1)?.indent ?? -1) >= indent) open.pop();
    const enclosing = open.at(-1);
    const move = enclosing === undefined ? contextMove(indent, base, original, at) : enclosing.move;
    open.push({ indent, move });
    return move === undefined ? line : reindented(line, move);
  });
}

/** How the user re-indented a library line: its leading whitespace `from` became `to`. */
interface Reindent {
  from: string;
  to: string;
}

/** The line with the library's `from` at its start replaced by the user's `to`. */
function reindented(line: string, { from, to }: Reindent): string {
  if (line.startsWith(from)) return to + line.slice(from.length);
  // A line shallower than the reference (none is, as nested lines follow their parent): as it was.
  return line;
}

/** How the user moved the lines at `indent` around base[start, end): undefined when nothing says. */
function contextMove(
  indent: number,
  base: readonly string[],
  original: { line: (baseIndex: number) => string | undefined },
  at: { start: number; end: number },
): Reindent | undefined {
  const moved = (i: number): Reindent | undefined => {
    const mine = original.line(i);
    return mine === undefined ? undefined : { from: leadingOf(base[i] as string), to: leadingOf(mine) };
  };
  // A sibling whose line the user also changed otherwise (a comment after it) says nothing: the next does.
  let parent: Reindent | undefined;
  for (let i = at.start - 1; i >= 0; i--) {
    const line = base[i] as string;
    if (isBlankOrComment(line) || indentOf(line) > indent) continue;
    if (indentOf(line) < indent) {
      parent = moved(i);
      break;
    }
    const move = moved(i);
    if (move !== undefined) return move;
  }
  for (let i = at.end; i < base.length; i++) {
    const line = base[i] as string;
    if (isBlankOrComment(line) || indentOf(line) > indent) continue;
    if (indentOf(line) < indent) break;
    const move = moved(i);
    if (move !== undefined) return move;
  }
  return parent;
}

function leadingOf(line: string): string {
  return line.slice(0, indentOf(line));
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function isBlankOrComment(line: string): boolean {
  const trimmed = line.trim();
  return trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith("//");
}

/** Where both sides changed the same stretch of the base. */
interface Conflict<T> {
  original: T[];
  base: T[];
  edited: T[];
  originalStart: number;
  editedStart: number;
  baseStart: number;
  /** The user's line for a line of the whole base (as merge3's `adopt` gets it). */
  side: { line: (baseIndex: number) => T | undefined };
}

/**
 * A stretch both sides changed. Its base lines are paired with the user's lines that differ from
 * them only in spacing, and with the merge's lines that start alike (same indentation and key).
 * A line paired on both sides is merged by character: the user's spacing with the merge's value.
 * Between such lines the side that alone changed wins; where both did, the merge's lines do, and
 * the user's lines there that the merge does not keep are lost — unless the merge removed every
 * base line there (the keys went, and their layout with them).
 */
function pairLines(
  { original, base, edited, baseStart, side }: Conflict<string>,
  /** Spacing for a line the merge alone wrote there (releaseSpacing); not for one merged with the user's. */
  spacedAsRelease: ((line: string) => string) | undefined,
  /** The whole base, and which of `edited` are the user's own lines (moved, in their layout). */
  file: { lines: readonly string[]; own: ReadonlySet<number> },
): { lines: string[]; lost: number[] } {
  const asRelease = (lines: string[]) => (spacedAsRelease === undefined ? lines : lines.map(spacedAsRelease));
  // Lines the merge wrote here, indented as the user indents their neighbours (indentLikeUser): in
  // the library's indentation, a key added to a flow mapping the user wrote over lines went 2
  // deeper than its siblings.
  const indented = (lines: string[], from: number, b0: number, b1: number) => {
    const shifted = indentLikeUser(lines, file.lines, side, { start: baseStart + b0, end: baseStart + b1 });
    return shifted.map((line, i) => (file.own.has(from + i) ? (lines[i] as string) : line));
  };
  const appended = afterUnchanged(original, base, edited);
  if (appended !== undefined)
    return {
      lines: [
        ...appended.slice(0, original.length),
        ...asRelease(indented(appended.slice(original.length), base.length, base.length, base.length)),
      ],
      lost: [],
    };
  // Lines one for one: a user line with the base line's key is its layout (the user may spell
  // its value differently, 1e3 for 1000); else only a line that differs in spacing alone is.
  const oneForOne = original.length === base.length;
  const toOriginal = similarPairs(
    base,
    original,
    (b, o) => sameBarSpacing(b, o) || sameBarComma(b, o) || (oneForOne && startAlike(b, o)),
    (line) => withoutSpacing(leadOf(line)),
  );
  const toEdited = similarPairs(base, edited, startAlike, leadOf);
  const lines: string[] = [];
  const lost: number[] = [];
  // A user's line whose base line the merge wrote nothing for (`host: x` under a `db:` the release
  // made a single value) was removed, not rewritten in another layout: its layout is not lost.
  const fromBase = new Map([...toOriginal.pairs].map(([bi, oi]) => [oi, bi]));
  const removedLine = (oi: number) => {
    const bi = fromBase.get(oi);
    return toEdited.exact && bi !== undefined && !toEdited.pairs.has(bi);
  };
  let b = 0;
  let o = 0;
  let e = 0;
  const gap = (b1: number, o1: number, e1: number) => {
    const mine = original.slice(o, o1);
    const written = edited.slice(e, e1);
    const theirs = asRelease(indented(written, e, b, b1));
    // A pairing that was only approximated may miss kept keys: only a merge that wrote nothing
    // there surely removed them; else the user's lines it does not keep are named as lost.
    const removed =
      [...toEdited.pairs.keys()].every((i) => i < b || i >= b1) && (toEdited.exact || theirs.length === 0);
    if (same(base.slice(b, b1), written)) lines.push(...mine);
    else if (same(base.slice(b, b1), mine) || removed) lines.push(...theirs);
    else {
      lines.push(...theirs);
      mine.forEach((line, i) => {
        if (!theirs.includes(line) && !written.includes(line) && !removedLine(o + i)) lost.push(o + i);
      });
    }
  };
  // A line that opened a flow collection the merge closes on that same line (`{` became
  // `{ b: 2 }`): the user's lines of it up to its close were folded into that line, not removed
  // with their keys, so they are lost, and the opening line with them.
  let folded = false;
  for (let i = 0; i < base.length; i++) {
    const oi = toOriginal.pairs.get(i);
    const ei = toEdited.pairs.get(i);
    if (oi === undefined || ei === undefined || oi < o || ei < e) continue;
    const before = lost.length;
    if (folded) lost.push(...range(o, oi).filter((at) => (original[at] as string).trim() !== ""));
    else gap(i, oi, ei);
    if (folded && lost.length > before) lines.push(...asRelease(indented(edited.slice(e, ei), e, b, i)));
    const line =
      mergeLine(original[oi] as string, base[i] as string, edited[ei] as string) ?? (edited[ei] as string);
    folded = opensFlow(base[i] as string) > 0 && opensFlow(line) <= 0;
    if (folded) lost.push(oi);
    lines.push(line);
    b = i + 1;
    o = oi + 1;
    e = ei + 1;
  }
  if (folded) {
    lost.push(...range(o, original.length).filter((at) => (original[at] as string).trim() !== ""));
    lines.push(...asRelease(indented(edited.slice(e), e, b, base.length)));
  } else gap(base.length, original.length, edited.length);
  return { lines, lost };
}

/**
 * The merge only appended lines after a stretch the user laid out anew, and so put a comma after
 * its last line (a new last member of a JSON object or array): the user's lines, the comma, the new
 * lines.
 */
function afterUnchanged(original: string[], base: string[], edited: string[]): string[] | undefined {
  const n = base.length;
  const last = original.at(-1);
  if (n === 0 || last === undefined || edited.length < n) return undefined;
  if (!base.every((line, i) => withoutComma(line) === withoutComma(edited[i] as string))) return undefined;
  const comma = (edited[n - 1] as string).trimEnd().endsWith(",");
  return [...original.slice(0, -1), withCommaAs(last, comma), ...edited.slice(n)];
}

/**
 * The user's line with a comma after its value or none, the white space they left at its end kept
 * after it: the comma went after that space (`"a": 2   ,`).
 */
function withCommaAs(line: string, comma: boolean): string {
  const written = line.trimEnd();
  const value = written.endsWith(",") ? written.slice(0, -1) : written;
  const end = line.slice(written.length);
  return `${value}${comma ? "," : ""}${end}`;
}

function withoutComma(line: string): string {
  return line.replace(/,\s*$/, "");
}

function sameBarSpacing(a: string, b: string): boolean {
  return withoutSpacing(a) === withoutSpacing(b);
}

/**
 * The same line but for a comma after its value: a flow collection's last item the user ended with
 * one (`b,   # second` above the `]`), which the library writes bare (`b # second`). Unpaired, the
 * user's line was rewritten in the library's layout when the release added an item after it.
 */
function sameBarComma(a: string, b: string): boolean {
  return withoutSpacing(withoutValueComma(a)) === withoutSpacing(withoutValueComma(b));
}

function withoutValueComma(line: string): string {
  const comment = trailingComment(line);
  return comment === undefined
    ? withoutComma(line)
    : `${withoutComma(comment.before)}${comment.gap}${comment.comment}`;
}

/** `line` with a comma after its value where `like` has one, none where it has none. */
function withValueCommaAs(line: string, like: string): string {
  const value = (text: string) => trailingComment(text)?.before ?? text;
  const comma = value(like).trimEnd().endsWith(",");
  const comment = trailingComment(line);
  if (comment === undefined) return withCommaAs(line, comma);
  return `${withCommaAs(comment.before, comma)}${comment.gap}${comment.comment}`;
}

function withoutSpacing(line: string): string {
  return line.replace(/\s+/g, "");
}

/**
 * The longest in-order pairing of base lines with edited lines that are `alike`: base index →
 * edited index. Past a million line pairs (a release changing a thousand lines of a big file) the
 * pairs are those of a diff of the lines' `key`s that are alike, not `exact`: it may miss some.
 */
function similarPairs(
  base: readonly string[],
  edited: readonly string[],
  alike: (base: string, other: string) => boolean,
  key: (line: string) => string,
): { pairs: Map<number, number>; exact: boolean } {
  const n = base.length;
  const m = edited.length;
  if (n * m > 1_000_000) {
    const pairs = new Map<number, number>();
    matches(base.map(key), edited.map(key)).forEach((j, i) => {
      if (j !== -1 && alike(base[i] as string, edited[j] as string)) pairs.set(i, j);
    });
    return { pairs, exact: false };
  }
  const width = m + 1;
  const best = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const skip = Math.max(best[(i + 1) * width + j] as number, best[i * width + j + 1] as number);
      const take = alike(base[i] as string, edited[j] as string)
        ? (best[(i + 1) * width + j + 1] as number) + 1
        : 0;
      best[i * width + j] = Math.max(skip, take);
    }
  }
  const pairs = new Map<number, number>();
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const here = best[i * width + j] as number;
    if (
      alike(base[i] as string, edited[j] as string) &&
      (best[(i + 1) * width + j + 1] as number) + 1 === here
    ) {
      pairs.set(i++, j++);
    } else if ((best[(i + 1) * width + j] as number) === here) i++;
    else j++;
  }
  return { pairs, exact: true };
}

/** Same indentation and the same text up to the first colon (the key), or the same first character. */
function startAlike(base: string, edited: string): boolean {
  const lead = leadOf(base);
  return edited.startsWith(lead);
}

/**
 * A line's text up to its first colon (its indentation and key), else its indentation and first
 * character. A line that opens a flow collection (`{ a: 1, b: 2 }`, a whole file in braces) leads
 * with its bracket: the key inside it is a member, which the merge may remove, and a line read as
 * another member's was taken for removed, so a file written over lines came back on one, unsaid.
 */
function leadOf(line: string): string {
  if (/^\s*[{[]/.test(line)) return line.slice(0, line.length - line.trimStart().length + 1);
  const colon = line.indexOf(":");
  return line.slice(0, colon === -1 ? line.length - line.trimStart().length + 1 : colon + 1);
}

/**
 * One line both sides changed, merged by character: the user's spacing with the merge's value.
 * Where both changed the same characters (the user's spelling of a value the merge replaced) the
 * merge's text wins. Only lines that start alike (indentation and key) are merged.
 */
function mergeLine(original: string, base: string, edited: string): string | undefined {
  if (base === edited) return original;
  if (base === original) return edited;
  if (!startAlike(base, edited)) return undefined;
  // The user's comment went with the value before it (`- 1  # one` → `- x: 1`): the spaces they set
  // before it are no spacing of the new value, which came as `- x:  1`.
  const dropped = trailingComment(base);
  const mine = trailingComment(original);
  if (dropped && mine?.comment === dropped.comment && trailingComment(edited) === undefined)
    return mergeLine(mine.before, dropped.before, edited);
  // Only a comma after the value differs (sameBarComma): the user's line, with or without it, its
  // comment in its column.
  if (sameBarComma(original, base) && sameBarComma(edited, base))
    return keepCommentColumn(original, withValueCommaAs(original, edited));
  // Spaces the user put where the merge inserts (padding before a closing `}`) go after the insert.
  const resolve = (region: Conflict<string>) =>
    region.base.length === 0 && region.original.join("").trim() === ""
      ? [...region.edited, ...region.original]
      : region.edited;
  const split = Math.max(original.length, base.length, edited.length) > LONG_LINE ? tokensOf : charsOf;
  return keepCommentColumn(original, merge3(split(original), split(base), split(edited), resolve).join(""));
}

/**
 * Past this length a line is merged by tokens, not characters: a minified JSON file is one line, and
 * its thousands of changed characters were past what the alignment searches, so the whole line came
 * back in the library's spacing, unsaid. Its strings (keys above all) occur once each and anchor it.
 */
const LONG_LINE = 1000;

function charsOf(line: string): string[] {
  return [...line];
}

/** White space runs, quoted strings, words and numbers, and single other characters: the line again when joined. */
function tokensOf(line: string): string[] {
  return line.match(/\s+|"(?:\\.|[^"\\])*"?|'(?:''|[^'])*'?|[\w.+-]+|[\s\S]/gu) ?? [];
}

/**
 * A comment the user aligned (two or more spaces before `#`) stays in its column when the value
 * before it grew or shrank. A value that reaches the column keeps the user's own spacing before
 * the comment, as TOML's text edit does: one space there read as the spacing lost.
 */
function keepCommentColumn(original: string, merged: string): string {
  const mine = trailingComment(original);
  if (mine === undefined || mine.gap.length < 2) return merged;
  const now = trailingComment(merged);
  if (now === undefined || now.comment !== mine.comment) return merged;
  // Tabs align to tab stops, not to a count of characters: the user's tabs stay as they are.
  const spaces = mine.gap.includes("\t") ? 0 : mine.before.length + mine.gap.length - now.before.length;
  return `${now.before}${spaces >= 1 ? " ".repeat(spaces) : mine.gap}${now.comment}`;
}

/**
 * The `# comment` ending a line, the white space before it and what precedes that; undefined when
 * there is none. A `#` inside a quoted string (`"x  # y"`, every JSON string) is part of the value:
 * taken for a comment, the string was re-spaced and the line lost the user's layout.
 */
function trailingComment(line: string): { before: string; gap: string; comment: string } | undefined {
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === '"') {
      if (c === "\\") i++;
      else if (c === '"') quote = undefined;
    } else if (quote === "'") {
      if (c === "'" && line[i + 1] === "'") i++;
      else if (c === "'") quote = undefined;
    } else if (c === '"') quote = '"';
    // An apostrophe opens a string only where a value starts (`a: 'x'`, `['x']`), not in `don't`.
    else if (c === "'" && /(^|[\s:[{,-])$/.test(line.slice(0, i).trimEnd().slice(-1) || "")) quote = "'";
    else if (c === "#" && i > 0 && /\s/.test(line[i - 1] ?? "")) {
      const gap = /\s+$/.exec(line.slice(0, i))?.[0] ?? "";
      return { before: line.slice(0, i - gap.length), gap, comment: line.slice(i) };
    }
  }
  return undefined;
}

/** How many flow brackets (`{`, `[`) a line leaves open, outside strings and its comment. */
function opensFlow(line: string): number {
  const body = trailingComment(line)?.before ?? line;
  let depth = 0;
  for (const [, bracket] of body.replace(/"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'/g, "").matchAll(/([[{\]}])/g))
    depth += bracket === "[" || bracket === "{" ? 1 : -1;
  return depth;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** A stretch of the base one side replaced: base[b0, b1) became side[s0, s1). */
interface Hunk {
  side: "original" | "edited";
  b0: number;
  b1: number;
  s0: number;
  s1: number;
}

/**
 * A three-way merge of sequences: each side's changes to the base are applied where they do not
 * overlap the other side's; `conflict` decides where they do.
 */
function merge3<T>(
  original: T[],
  base: T[],
  edited: T[],
  conflict: (region: Conflict<T>) => T[],
  key: (item: T) => T = (item) => item,
  /** Fits what only the merge changed in base[start, end) to the user's side (their indentation). */
  adopt: (
    theirs: T[],
    at: {
      start: number;
      end: number;
      editedStart: number;
      original: { line: (baseIndex: number) => T | undefined };
    },
  ) => T[] = (theirs) => theirs,
): T[] {
  // The user's side is aligned by `key` (lines without their spacing): a line the user only spaced
  // differently stays aligned with its base line, as a one-line change of its own.
  const toOriginal = matches(base.map(key), original.map(key));
  const toEdited = matches(base, edited);
  const hunks = [
    ...hunksOf(toOriginal, original.length, "original", (i, j) => base[i] === original[j]),
    ...hunksOf(toEdited, edited.length, "edited", () => true),
  ];
  hunks.sort((x, y) => x.b0 - y.b0 || x.b1 - y.b1);
  const side = {
    line: (i: number): T | undefined => {
      const at = toOriginal[i] ?? -1;
      return at === -1 ? undefined : original[at];
    },
  };
  const out: T[] = [];
  let at = 0;
  for (const group of groupsOf(hunks)) {
    const b0 = Math.min(...group.map((h) => h.b0));
    const b1 = Math.max(...group.map((h) => h.b1));
    for (; at < b0; at++) out.push(original[toOriginal[at] as number] as T);
    at = b1;
    const [o0, o1] = span(group, "original", b0, b1, toOriginal);
    const [e0, e1] = span(group, "edited", b0, b1, toEdited);
    const mine = original.slice(o0, o1);
    const theirs = edited.slice(e0, e1);
    if (!group.some((h) => h.side === "edited") || same(mine, theirs)) out.push(...mine);
    else if (!group.some((h) => h.side === "original"))
      out.push(...adopt(theirs, { start: b0, end: b1, editedStart: e0, original: side }));
    else
      out.push(
        ...conflict({
          original: mine,
          base: base.slice(b0, b1),
          edited: theirs,
          originalStart: o0,
          editedStart: e0,
          baseStart: b0,
          side,
        }),
      );
  }
  for (; at < base.length; at++) out.push(original[toOriginal[at] as number] as T);
  return out;
}

function hunksOf(
  match: readonly number[],
  sideLength: number,
  side: Hunk["side"],
  identical: (base: number, other: number) => boolean,
): Hunk[] {
  const hunks: Hunk[] = [];
  let b = 0;
  let s = 0;
  for (let i = 0; i <= match.length; i++) {
    const at = i < match.length ? (match[i] as number) : sideLength;
    if (at === -1) continue;
    if (i > b || at > s) hunks.push({ side, b0: b, b1: i, s0: s, s1: at });
    if (i < match.length && !identical(i, at)) hunks.push({ side, b0: i, b1: i + 1, s0: at, s1: at + 1 });
    b = i + 1;
    s = at + 1;
  }
  return hunks;
}

/** Hunks (sorted by start) grouped where they overlap: changes to the same lines, or inserts at one place. */
function groupsOf(hunks: readonly Hunk[]): Hunk[][] {
  const groups: Hunk[][] = [];
  let current: Hunk[] = [];
  let start = 0;
  let end = 0;
  for (const h of hunks) {
    const overlaps =
      current.length > 0 &&
      (h.b0 === h.b1
        ? (start < h.b0 && h.b0 < end) || (start === end && start === h.b0)
        : start === end
          ? h.b0 < start && start < h.b1
          : h.b0 < end);
    if (!overlaps) {
      if (current.length > 0) groups.push(current);
      current = [];
      start = h.b0;
      end = h.b1;
    }
    current.push(h);
    start = Math.min(start, h.b0);
    end = Math.max(end, h.b1);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** The stretch of one side that stands for base[b0, b1). */
function span(group: readonly Hunk[], side: Hunk["side"], b0: number, b1: number, match: readonly number[]) {
  const mine = group.filter((h) => h.side === side);
  const first = mine.find((h) => h.b0 === b0);
  const last = mine.find((h) => h.b1 === b1);
  const s0 = first?.s0 ?? (match[b0] as number);
  const s1 = last?.s1 ?? (match[b1 - 1] as number) + 1;
  return [s0, s1] as const;
}

function same<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export interface LayoutResult {
  text: string;
  warnings: string[];
}

/**
 * The merged text with the user's layout carried over, when it still means the merge (`check`);
 * else the library's text. Either way each user line whose layout was lost is named in a warning.
 */
export function withUserLayout(
  original: string,
  plain: string,
  edited: string,
  check: (text: string) => boolean,
  warnings: readonly string[],
  library: string,
  release?: string,
): LayoutResult {
  const carried = carryLayout(original, plain, edited, release);
  const ok = check(carried.text);
  const text = ok ? carried.text : edited;
  const lines = linesOf(original).lines;
  // A line whose comment a warning names already went with a value the release replaced: naming
  // its layout as well said the same loss twice.
  const lost = (ok ? carried.lost : unmatchedLines(original, plain)).filter((n) => {
    const comment = /(?:^|\s)(#.*?)\s*$/.exec(lines[n - 1] ?? "")?.[1];
    return comment === undefined || !warnings.some((w) => namesComment(w, comment.slice(1)));
  });
  return {
    text,
    warnings: lost.length === 0 ? [...warnings] : [...warnings, lostWarning(original, lost, library)],
  };
}

export const LAYOUT_OF = {
  yaml: "spacing, quoting, line breaks, comment position",
  json: "spacing, line breaks, inline objects and arrays",
} as const;

/** 1-based numbers of the lines of `original` that `plain` does not have. */
function unmatchedLines(original: string, plain: string): number[] {
  const o = linesOf(original).lines;
  const found = matches(o, linesOf(plain).lines);
  return found.flatMap((at, i) => (at === -1 && (o[i] as string).trim() !== "" ? [i + 1] : []));
}

function lostWarning(original: string, lost: readonly number[], library: string): string {
  const lines = linesOf(original).lines;
  const shown = lost.slice(0, 3).map((n) => `${n} (${quoteLine(lines[n - 1] ?? "")})`);
  const more = lost.length > 3 ? ` and ${lost.length - 3} more` : "";
  const which = `${lost.length === 1 ? "line" : "lines"} ${shown.join(", ")}${more}`;
  const them = lost.length === 1 ? "it" : "them";
  return `${which} lost ${lost.length === 1 ? "its" : "their"} layout (${library}), because the merge changed ${them}: rewritten in the merge's own layout`;
}

function quoteLine(line: string): string {
  const trimmed = line.trim();
  return `\`${trimmed.length > 60 ? `${trimmed.slice(0, 57)}...` : trimmed}\``;
}
