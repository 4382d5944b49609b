/**
 * Config-file merges (`merge_toml`, `merge_json`, `merge_yaml` rules of the update manifest).
 *
 * Inputs: `current` is the file on the server now (with the user's edits), `incoming` the release's
 * version, `base` the version the previous release shipped (its pristine copy), when known.
 *
 * Strategies (the rule's `merge_strategy`):
 * - `replace`: the release's file wins entirely (its text, in the server copy's BOM and line endings;
 *   with `sections`, the release's values except where a section says otherwise); a server copy
 *   that already holds the release's values stays as it is. An unparsable server copy is replaced,
 *   unless a section keeps values of it (then it is bad input, as under the other strategies).
 * - `update_only`: the user's file stays as it is; only keys it lacks are added (recursively, inside
 *   tables/mappings/objects), except, with `base`, keys the user deleted (the previous release had
 *   them): those stay deleted. An existing value is never changed or removed.
 * - `preserve_user` with `base` (three-way): a value the user changed (differs from `base`) is kept;
 *   a value the user never touched takes the release's value, so a release can change a default;
 *   keys the user added are kept; keys the release added are added; keys the release removed are
 *   removed unless the user changed them; keys the user deleted stay deleted unless the release
 *   changed them. Without `base`: every user value is kept and new release keys are added.
 *
 * `sections` (the manifest's `merge_strategies` for this file) override the strategy for one table,
 * named by its top-level key or a dotted path (`database.pool`); the deepest entry wins. Besides the
 * three strategies above a section may use `merge_smart`: the release's values win, except the
 * `preserve_keys` (dotted paths relative to the section), which keep the user's value; keys only the
 * user has are kept; new keys are added. `preserve_keys` keep the user's value under any strategy.
 *
 * Arrays are values: never merged element by element. When the user and the release disagree on a
 * type (table vs value), the user's value stays where the strategy keeps user values (reported in
 * `kept`). Key order is the user's; added keys follow, in the release's order. A file the merge does
 * not change comes back byte for byte; a changed one keeps the server copy's BOM and CRLF line
 * endings (text-form.ts). YAML edits the user's Document (comments, anchors, aliases and `<<` merge
 * keys survive; yaml-format.ts); JSON writes the merged values in the user's indentation and inline
 * objects; both then carry the user's own lines over the library's text (carry-layout.ts). TOML is
 * edited as text, arrays of tables and new tables included, and rewritten from values only when no
 * text edit can express the merge. What a format could not keep is said in `warnings`.
 *
 * Pure and synchronous: no disk. Unparsable input → BadInputError naming the file, line and column.
 */

import { CST, Lexer } from "yaml";
import { BadInputError } from "../../shared/errors.js";
import type { FileRule, SectionStrategy } from "../../shared/manifest/schema.js";
import { namedComment } from "./comment-names.js";
import { withoutDeletedNotes } from "./deleted-notes.js";
import { withoutDoubledNotes } from "./doubled-notes.js";
import { withExactFloats } from "./float-literals.js";
import { parseJson, renderJsonMerge } from "./json-format.js";
import { holdsNoKey, holdsNoValue, keptKeys, keylessReleaseWarning } from "./keyless-release.js";
import { listNoteEdits } from "./list-notes.js";
import { lostBaseWarning } from "./lost-base.js";
import { commentLinesOf, commentsOf, lostCommentsWarning } from "./lost-comments.js";
import { movedCommentsWarning } from "./moved-line-comments.js";
import { UNPARSABLE_REPLACED } from "./not-merged.js";
import type { CopyRole } from "./parse-error.js";
import {
  emptyPlan,
  type FileStrategy,
  type MergePlan,
  type Overwritten,
  planMerge,
  type Shape,
  sectionsKeepUserValues,
} from "./plan.js";
import { unusedSections } from "./section-names.js";
import {
  neighbourEndings,
  normaliseReleaseText,
  normaliseServerText,
  restoreForm,
  textFormOf,
} from "./text-form.js";
import { parseToml, renderTomlMerge } from "./toml-format.js";
import { ABSENT, WHOLE_FILE } from "./values.js";
import { inWrittenOrder } from "./written-key-order.js";
import { unseenAlikeChanges } from "./yaml-alike-keys.js";
import { withoutEmptyDocuments } from "./yaml-empty-documents.js";
import { type FollowedReport, parseYaml, renderYamlMerge } from "./yaml-format.js";
import { withTagChanges } from "./yaml-tag-changes.js";

export type { FileStrategy } from "./plan.js";
export { sectionsKeepUserValues } from "./plan.js";
export type MergeFormat = "toml" | "json" | "yaml";

export interface MergeInput {
  format: MergeFormat;
  /** Used in error messages only. */
  fileName: string;
  /** Where a copy that does not parse is named, when not by `fileName` (the server's absolute path). */
  names?: Partial<Record<CopyRole, string>>;
  current: string;
  incoming: string;
  base?: string;
  strategy: FileStrategy;
  sections?: Record<string, SectionStrategy>;
  /**
   * The server's copy is byte for byte what ship wrote at the last merge: a blank one is then that
   * merge's result (every key gone), not a disk that filled, and merges as such.
   */
  currentIsShips?: boolean;
  /** The merge_strategies entries the last merge of this file found naming no key (section-names.ts). */
  unusedSaid?: readonly string[];
  /**
   * Where the previous release's copy the install index names should be, when it is gone: merged
   * without it (no `base`), with a WARNING (lost-base.ts). Absent at a first install.
   */
  baseGone?: string;
  /** `baseGone` is there but not the bytes its name records (base-copy.ts): said so. */
  baseDamaged?: boolean;
}

export interface MergeResult {
  text: string;
  /** Dotted key paths where the user's value was kept over the release's. */
  kept: string[];
  added: string[];
  updated: string[];
  removed: string[];
  /** Keys the user deleted that stay deleted (the release ships them unchanged); absent when none. */
  deleted?: string[];
  /** What the merge could not keep (e.g. TOML comments when the file had to be rewritten). */
  warnings: string[];
  /** The merge_strategies entries that named no key, said or not (the next merge's unusedSaid). */
  unusedSections?: string[];
  /**
   * The release's copy held no key (keyless-release.ts) and was not merged: it is no base for the
   * next merge, which goes on against the last copy that held keys.
   */
  releaseKeyless?: true;
}

export function mergeFormatOf(action: FileRule["action"]): MergeFormat | undefined {
  switch (action) {
    case "merge_toml":
      return "toml";
    case "merge_json":
      return "json";
    case "merge_yaml":
      return "yaml";
    default:
      return undefined;
  }
}

export function mergeConfigFile(input: MergeInput): MergeResult {
  const form = textFormOf(input.current);
  const yaml = input.format === "yaml";
  const { body: current, tail } = oneDocument(yaml, normaliseServerText(input.current, form));
  const incoming = oneDocument(yaml, normaliseReleaseText(input.incoming)).body;
  const shipped =
    input.base === undefined ? undefined : oneDocument(yaml, normaliseReleaseText(input.base)).body;
  const blank = current.trim() === "";
  const format = readAs(input.format, blank ? undefined : current, incoming, shipped);
  const keyless = keylessRelease(input, format, incoming);
  if (keyless !== undefined) return keptWhole(input, format, { current, incoming, release: keyless.value });
  // A blank previous release's copy, one a keyless release left (keyless-release.ts), held no key,
  // as a blank TOML or YAML copy reads: JSON's reader refused it, failing every later update.
  const base = format === "json" && shipped?.trim() === "" ? "{}" : shipped;
  const done =
    blank && format === "json"
      ? blankJsonAsNew(input, incoming)
      : mergeNormalised({ ...input, format, current, incoming, ...(base === undefined ? {} : { base }) });
  const lost =
    input.baseGone === undefined || input.base !== undefined
      ? undefined
      : lostBaseWarning(input.baseGone, input.strategy, hasSections(input), done, input.baseDamaged === true);
  const merged = lost === undefined ? done : { ...done, warnings: [lost, ...done.warnings] };
  // A merged text, and the release's copy taken whole (replace), get the server copy's BOM and
  // newlines: replace takes the release's values and comments, not the form a Windows editor, or the
  // operator, gave the file. A text that reads as the server copy comes back byte for byte.
  const text = merged.text === current ? input.current : restoreForm(merged.text + tail, form);
  return {
    ...merged,
    text: form.mixed && text !== input.current ? neighbourEndings(input.current, text) : text,
  };
}

/**
 * The release's copy holds no value (keyless-release.ts): the server's copy stays byte for byte,
 * each of its keys kept. One that does not parse is left as it is too: nothing replaces it.
 */
function keptWhole(
  input: MergeInput,
  format: MergeFormat,
  { current, incoming, release }: { current: string; incoming: string; release: unknown },
): MergeResult {
  const report = { ...reportOf(emptyPlan()), text: input.current, releaseKeyless: true as const };
  if (holdsNoValue(format, current)) return { ...report, warnings: [] };
  let value: unknown;
  try {
    value = parserOf(input, format)(current, "server").value;
  } catch (error) {
    if (!(error instanceof BadInputError) || input.strategy !== "replace") throw error;
  }
  return { ...report, kept: keptKeys(value), warnings: [keylessReleaseWarning(format, incoming, release)] };
}

/**
 * The release's copy's value when it holds no key, however written (keyless-release.ts): no value in
 * its text, or one that parses as no key (`{}`, null, `[]`, only empty tables). A copy that does not
 * parse is not keyless: the merge reports it as it always did.
 */
function keylessRelease(
  input: MergeInput,
  format: MergeFormat,
  incoming: string,
): { value: unknown } | undefined {
  if (holdsNoValue(format, incoming)) return { value: undefined };
  try {
    const { value } = parserOf(input, format)(incoming, "release");
    return holdsNoKey(value) ? { value } : undefined;
  } catch (error) {
    if (error instanceof BadInputError) return undefined;
    throw error;
  }
}

/** The parser of `format`, naming each copy as the input does. */
function parserOf(input: MergeInput, format: MergeFormat): Parser {
  return parserFor(format, (role) => input.names?.[role] ?? input.fileName);
}

/** A YAML copy without the empty documents it ends with (yaml-empty-documents.ts). */
function oneDocument(yaml: boolean, text: string): { body: string; tail: string } {
  return yaml ? withoutEmptyDocuments(text) : { body: text, tail: "" };
}

/**
 * `merge_yaml` on a JSON config (allowed: JSON is YAML) merges as JSON when every copy is JSON: the
 * YAML writer turned the file into one line of flow style at every merge, with a WARNING that its
 * lines lost their layout. The values read alike either way; only the written text differs.
 *
 * A copy of the user's written in JSON's braces that is not JSON, while the release's is, is read
 * as JSON too, so it is refused naming what JSON does not allow: a tsconfig-like `// comment`, read
 * as YAML, became part of a key and the merge wrote a file no JSON reader could read, exit 0; a
 * trailing comma came back as one line of flow style. A copy the user rewrote as YAML stays YAML.
 */
function readAs(format: MergeFormat, user: string | undefined, release: string, base?: string): MergeFormat {
  if (format !== "yaml" || !isJsonText(release)) return format;
  if (user !== undefined && !isJsonText(user))
    return /^\s*[{[]/.test(user) && !isJsonText(withoutYamlComments(user)) ? "json" : "yaml";
  return base === undefined || isJsonText(base) ? "json" : "yaml";
}

/**
 * A blank copy of a JSON config (a disk that filled) is merged as TOML and YAML merge a blank copy,
 * as a new copy with the release's keys, and the release's JSON text is that copy. Under
 * `merge_yaml` the YAML writer wrote the keys as YAML (`"a": 1` lines), which the app then could
 * not read as JSON; under `merge_json` the same file was refused (exit 2) as not JSON.
 */
function blankJsonAsNew(input: MergeInput, incoming: string): MergeResult {
  const release = parserOf(input, "json")(incoming, "release");
  const plan = planMerge({ user: {}, release: release.value, base: ABSENT, strategy: "update_only" });
  return { ...reportOf(plan), text: incoming, warnings: [EMPTIED] };
}

const EMPTIED =
  "your copy is empty: merged as a new copy (the release's keys added), not as every key deleted by you";

/**
 * The text without its YAML comments (`# …` where YAML reads one, never inside a string): a copy in
 * JSON's braces with a `#` note of the operator's (`"port": 8080  # ops`, a `# …` line under the
 * closing brace) is YAML, as the merge_yaml rule says, and merges as YAML keeping the note; read as
 * JSON it was refused as a file that does not parse ("Expected ',' or '}' after property value").
 */
const LEXER_MARKS = new Set(["comment", "doc-mode", "flow-error-end", "scalar", "byte-order-mark"]);

function withoutYamlComments(text: string): string {
  let kept = "";
  for (const token of new Lexer().lex(text)) {
    // The lexer's own markers (document start, scalar) are no file text.
    if (LEXER_MARKS.has(CST.tokenType(token) ?? "text")) continue;
    kept += token;
  }
  return kept;
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The merge on normalised texts (no BOM, LF line endings). */
function mergeNormalised(input: MergeInput): MergeResult {
  const parse = parserOf(input, input.format);
  const release = parse(input.incoming, "release");
  const user = readServerCopy(input, parse);
  if ("unparsable" in user) {
    // Only reached under replace: nothing can be kept from a file that does not parse, and nothing
    // of it can be named key by key, so the warning says the whole file went, why, and where it is.
    const warnings = [unparsableReplaced(input, user.unparsable)];
    return { ...reportOf(emptyPlan()), text: input.incoming, warnings };
  }
  // Under replace the previous release's copy cannot change the outcome, so it is not even read;
  // unless a section says otherwise (`database: preserve_user` merges three-way like a whole file).
  const readsBase = input.base !== undefined && (input.strategy !== "replace" || hasSections(input));
  // A blank copy (0 bytes: a disk that filled, an editor that crashed) is no sign that the user
  // deleted every key: three-way, it came back holding only the keys the release changed. It is
  // merged as a missing file is installed, with the release's keys.
  // One ship wrote blank itself (a merge that removed every key) merges as it is: taken as a disk
  // that filled, the next run put back every key the previous merge had removed.
  const blank =
    readsBase &&
    input.current.trim() === "" &&
    (input.base ?? "").trim() !== "" &&
    input.currentIsShips !== true;
  const threeWay = readsBase && !blank;
  // A copy the user never edited is the previous release's, byte for byte: parsed once, not twice
  // (only read, never edited; a third of a big YAML merge's CPU went to parsing).
  const baseCopy = !threeWay
    ? undefined
    : input.base === input.current
      ? user
      : parse(input.base ?? "", "previous release");
  // Floats are compared as written where a double cannot hold them (exact-floats.ts).
  const exact = (copy: Parsed, text: string) =>
    inWrittenOrder(input.format, withExactFloats(input.format, { ...copy, text }), {
      text,
      doc: copy.yaml?.doc,
    });
  const exactValues = { user: exact(user, input.current), release: exact(release, input.incoming) };
  const valuePlan = planMerge({
    user: exactValues.user,
    release: exactValues.release,
    base: baseCopy === undefined ? ABSENT : exact(baseCopy, input.base ?? ""),
    strategy: input.strategy,
    sections: input.sections,
  });
  // YAML tags the parser does not know (`!Ref`) are part of the value, though not of the values read.
  const replaceWhole = input.strategy === "replace" && !hasSections(input);
  const plan =
    user.yaml === undefined ||
    release.yaml === undefined ||
    (!replaceWhole && input.strategy !== "preserve_user")
      ? valuePlan
      : withTagChanges(
          valuePlan,
          { user: user.yaml.doc, release: release.yaml.doc, base: baseCopy?.yaml?.doc },
          replaceWhole,
        );
  // A copy whose values are already the release's is left as it is, comments and all, as it is with
  // sections and under every other strategy: a merge that changes no value changes no byte.
  if (input.strategy === "replace" && !hasSections(input) && plan.edits.length > 0) {
    // The release's text whole: the report names the values that went, this the comments (the
    // previous release's own comments are its change, not the user's loss).
    const lost = lostCommentsWarning(
      input.format,
      { user: input.current, base: input.base, merged: input.incoming },
      [],
      plan.removed,
      true,
    );
    return {
      ...reportOf(plan),
      text: input.incoming,
      warnings: [
        ...overwrittenWarnings(replacedValuesOfUser(input, parse, user.value, release.value)),
        ...(lost === undefined ? [] : [lost]),
      ],
    };
  }
  // Unchanged lists whose notes, left as shipped, the release rewrote are edited for their notes.
  const noteEdits =
    baseCopy === undefined
      ? []
      : listNoteEdits(input.format, plan, {
          user: { text: input.current, parsed: user },
          release: { text: input.incoming, parsed: release },
          base: { text: input.base ?? "", parsed: baseCopy },
        });
  const drawn = render(
    input,
    { user, release, base: baseCopy, exact: exactValues },
    noteEdits.length === 0 ? plan : { ...plan, edits: [...plan.edits, ...noteEdits] },
  );
  // A merge that changes no value changes no byte; else the previous release's notes the operator
  // deleted stay deleted where the release's text brought them back (deleted-notes.ts), and a note
  // the release's text brought where the operator's copy keeps it elsewhere is there once (doubled-notes.ts).
  const rendered =
    !threeWay || input.base === undefined || drawn.text === input.current
      ? drawn
      : {
          ...drawn,
          text: withoutDoubledNotes(input.format, {
            user: input.current,
            base: input.base,
            release: input.incoming,
            merged: withoutDeletedNotes(input.format, {
              user: input.current,
              base: input.base,
              release: input.incoming,
              merged: drawn.text,
            }),
          }),
        };
  const lost = lostCommentsWarning(
    input.format,
    { user: input.current, base: threeWay ? input.base : undefined, merged: rendered.text },
    rendered.warnings,
    plan.removed,
  );
  const moved = movedCommentsWarning(
    input.format,
    { user: input.current, base: threeWay ? input.base : undefined, merged: rendered.text },
    rendered.warnings,
  );
  const unused = unusedSections(
    input.sections ?? {},
    [user.value, release.value, baseCopy === undefined ? ABSENT : baseCopy.value],
    threeWay ? "your copy, the release's or the previous release's" : "your copy or the release's",
    input.unusedSaid,
  );
  const emptied = blank ? [EMPTIED] : [];
  const dropped = [
    ...(plan.dropped.length === 0 ? [] : [droppedKeysWarning(plan.dropped)]),
    ...addedInDroppedWarnings(plan.addedInDropped),
    ...reshapedWarnings(plan.reshaped),
    ...listsBothChangedWarnings(plan.listsBothChanged),
    ...overwrittenWarnings(plan.overwritten),
  ];
  const alike =
    user.yaml === undefined || release.yaml === undefined
      ? undefined
      : unseenAlikeChanges(
          user.yaml.doc,
          release.yaml.doc,
          baseCopy?.yaml?.doc,
          input.currentIsShips === true,
        );
  const warnings = [
    ...emptied,
    ...dropped,
    ...unused.warnings,
    ...rendered.warnings,
    ...(lost === undefined ? [] : [lost]),
    ...(moved === undefined ? [] : [moved]),
    ...(alike === undefined ? [] : [alike]),
  ];
  return {
    ...reportOf(plan, rendered.followed),
    text: rendered.text,
    warnings,
    ...(unused.ids.length === 0 ? {} : { unusedSections: unused.ids }),
  };
}

/**
 * A key the release dropped while the user's value is kept under it is most often a setting the
 * release renamed: the user's value then sits under a name the app no longer reads, and the new
 * name took the release's default, both reported as a plain `kept` and `added`. Which key is the
 * new name is not guessed; the operator is told which of their values may no longer count.
 */
function droppedKeysWarning(keys: readonly string[]): string {
  const named = keys.length === 1 ? `the key ${keys[0]}` : `the keys ${keys.join(", ")}`;
  return `this release no longer has ${named}, whose value you had changed: your value is kept there, but the app may no longer read it (a renamed setting takes the release's default under its new name); check the release's notes and move your value if it was renamed`;
}

/**
 * Under a file strategy of replace the previous release's copy is not read for the merge (it cannot
 * change the outcome), but only it tells a value the user changed, which went, from a default the
 * release changed. One that does not parse is no reason to refuse what replace installs: then no
 * value is named.
 */
function replacedValuesOfUser(
  input: MergeInput,
  parse: Parser,
  user: unknown,
  release: unknown,
): Overwritten[] {
  // A blank copy of the user's (a disk that filled) is no deletion of every key to name.
  if (input.base === undefined || input.base.trim() === "") return [];
  if (input.current.trim() === "" && input.currentIsShips !== true) return [];
  let base: unknown;
  try {
    base = input.base === input.current ? user : parse(input.base, "previous release").value;
  } catch (error) {
    if (error instanceof BadInputError) return [];
    throw error;
  }
  return planMerge({ user, release, base, strategy: "replace" }).overwritten;
}

/**
 * The user's values a replace or merge_smart strategy took the release's over: listed as `updated`
 * or `removed` alone, they read as defaults the release changed. One WARNING per strategy that
 * decided, keys only (a password would land in the log).
 */
function overwrittenWarnings(entries: readonly Overwritten[]): string[] {
  const byRule = new Map<string, string[]>();
  for (const { key, strategy, section } of entries) {
    const rule =
      section === undefined
        ? `merge_strategy ${strategy}`
        : `the merge_strategies section ${JSON.stringify(section)} (${strategy})`;
    byRule.set(rule, [...(byRule.get(rule) ?? []), key]);
  }
  return [...byRule].map(([rule, keys]) => {
    const named = keys.length === 1 ? `the key ${keys[0]}` : `the keys ${keys.join(", ")}`;
    return `${rule} took the release's values over your changes to ${named} (changed, added or deleted since the previous release's copy); your copy is in this update's backup (ship --list-backups); to keep such a value, list it in preserve_keys or use preserve_user`;
  });
}

const SHAPE_NAMES: Record<Shape, string> = { table: "a table", list: "a list", value: "a single value" };

/**
 * One WARNING for the values kept in another form than the release's: a release that reshaped a
 * whole section printed a line per key.
 */
function reshapedWarnings(reshaped: MergePlan["reshaped"]): string[] {
  const [only] = reshaped;
  if (only === undefined) return [];
  if (only.key === WHOLE_FILE)
    return [
      `this release's copy is ${SHAPE_NAMES[only.release]} as a whole, yours ${SHAPE_NAMES[only.user]}, which is kept: the app may no longer read it; check the release's notes and write your settings in the release's form`,
    ];
  const advice =
    "which is kept: the app may no longer read it; check the release's notes and write your setting in the release's form";
  if (reshaped.length === 1)
    return [
      `this release writes ${only.key} as ${SHAPE_NAMES[only.release]}, your copy as ${SHAPE_NAMES[only.user]}, ${advice}`,
    ];
  const each = reshaped.map(
    ({ key, user, release }) => `${key} (the release: ${SHAPE_NAMES[release]}, yours: ${SHAPE_NAMES[user]})`,
  );
  return [
    `this release writes these keys in another form than your copy, whose form is kept: ${each.join(", ")}; the app may no longer read them; check the release's notes and write your settings in the release's form`,
  ];
}

/**
 * One WARNING per list the user and the release both changed: the user's is kept whole (README:
 * lists are single values), and the release's change (an item added, an item's value) was dropped
 * without a word. Keys only, never the values.
 */
function listsBothChangedWarnings(keys: readonly string[]): string[] {
  return keys.map(
    (key) =>
      `this release changed the list ${key}, which you had changed too: your list is kept whole (lists are merged as single values), so the release's change to it is not in your copy; compare it with the release's copy and carry the change over by hand`,
  );
}

/** One WARNING per table the release dropped that holds keys only the user ever had. */
function addedInDroppedWarnings(entries: MergePlan["addedInDropped"]): string[] {
  const byTable = new Map<string, string[]>();
  for (const { table, key } of entries) byTable.set(table, [...(byTable.get(table) ?? []), key]);
  return [...byTable].map(([table, keys]) => {
    const named = keys.length === 1 ? `the key ${keys[0]}` : `the keys ${keys.join(", ")}`;
    return `this release no longer has the table ${table}, in which you had added ${named}: kept there, but the app may no longer read it; check the release's notes and move it if the table was renamed`;
  });
}

/**
 * Parses one copy (decoded by decodeConfigText) the way a merge reads it, so a caller can refuse bad
 * input before changing anything. Throws BadInputError naming the file, line and column.
 */
export function checkMergeInput(
  format: MergeFormat,
  text: string,
  fileName: string,
  role: CopyRole,
  /** The release's copy, beside the server's: under merge_yaml a JSON one has it read as JSON. */
  release?: string,
): void {
  const normalised = oneDocument(format === "yaml", normaliseReleaseText(text)).body;
  const blank = normalised.trim() === "";
  const as =
    role === "server" && release !== undefined && !blank
      ? readAs(format, normalised, normaliseReleaseText(release))
      : format;
  // A blank server copy is merged as a new copy (blankJsonAsNew), although it is not JSON; a release
  // copy holding no value leaves the server's as it is, and one as the previous release's is none.
  if (as === "json" && role === "server" && blank) return;
  if (role !== "server" && holdsNoValue(as, normalised)) return;
  parserFor(as, () => fileName)(normalised, role);
}

/**
 * The server's copy; under replace an unparsable copy is not an error (the release wins), unless a
 * section keeps values of it (`database: preserve_user`): taking the release's copy whole lost them
 * with exit 0, where every other strategy refuses the copy.
 */
function readServerCopy(input: MergeInput, parse: Parser): Parsed | { unparsable: BadInputError } {
  if (input.strategy !== "replace" || sectionsKeepUserValues(input.sections))
    return parse(input.current, "server");
  try {
    return parse(input.current, "server");
  } catch (error) {
    if (error instanceof BadInputError) return { unparsable: error };
    throw error;
  }
}

/**
 * An unparsable copy replaced whole: the operator read "took the release's copy whole" with neither
 * the reason (a typo of theirs, a line:column to look at) nor that their values and comments went,
 * nor where their copy is now.
 */
function unparsableReplaced(input: MergeInput, error: BadInputError): string {
  const issue = error.issues[0];
  const reason = (issue?.message ?? error.message).replace(
    /^cannot merge: the server's copy does not parse: /,
    "",
  );
  const at = issue?.line === undefined ? "" : `line ${issue.line}, column ${issue.column ?? 1}: `;
  let comments: string[] = [];
  try {
    const shipped = new Set(input.base === undefined ? [] : commentsOf(input.format, input.base));
    const kept = new Set(commentsOf(input.format, input.incoming));
    comments = commentLinesOf(input.format, input.current)
      .filter(({ comment }) => comment.trim() !== "" && !shipped.has(comment) && !kept.has(comment))
      .map(namedComment);
  } catch {
    // A copy too broken to find its comments in: the backup holds them all the same.
  }
  const named = comments.length === 0 ? "" : ` (your comments: ${comments.join(", ")})`;
  return `${UNPARSABLE_REPLACED}${at}${reason}): took the release's copy whole, so nothing of yours in it is kept${named}; your copy is in this update's backup (ship --list-backups)`;
}

function hasSections(input: MergeInput): boolean {
  return Object.keys(input.sections ?? {}).length > 0;
}

export interface Parsed {
  value: unknown;
  yaml?: ReturnType<typeof parseYaml>;
}

export type Parser = (text: string, role: CopyRole) => Parsed;

export function parserFor(format: MergeFormat, nameOf: (role: CopyRole) => string): Parser {
  switch (format) {
    case "json":
      return (text, role) => ({ value: parseJson(text, nameOf(role), role) });
    case "toml":
      return (text, role) => ({ value: parseToml(text, nameOf(role), role) });
    case "yaml":
      return (text, role) => {
        const yaml = parseYaml(text, nameOf(role), role);
        return { value: yaml.value, yaml };
      };
  }
}

/** A merged text; `followed` only from YAML, whose aliases can carry a change further than the plan. */
interface Rendered {
  text: string;
  warnings: string[];
  followed?: FollowedReport;
}

/** `base` is the previous release's copy when the merge is three-way. */
function render(
  input: MergeInput,
  {
    user,
    release,
    base,
    exact,
  }: {
    user: Parsed;
    release: Parsed;
    base: Parsed | undefined;
    /** The copies' values with floats as written (withExactFloats), which list items pair by. */
    exact: { user: unknown; release: unknown };
  },
  plan: MergePlan,
): Rendered {
  switch (input.format) {
    case "json":
      return renderJsonMerge(input.current, user.value, release.value, plan.edits, input.incoming, exact);
    case "toml":
      return renderTomlMerge(
        input.current,
        input.incoming,
        user.value,
        release.value,
        plan.edits,
        base && input.base,
      );
    case "yaml":
      if (user.yaml === undefined || release.yaml === undefined)
        throw new Error("YAML copies were not parsed as YAML");
      return renderYamlMerge(
        input.current,
        { ...user.yaml, exact: exact.user },
        { ...release.yaml, exact: exact.release },
        plan.edits,
        base?.yaml,
      );
  }
}

/** The plan's key report, with what YAML values following an anchor took along (FollowedReport). */
function reportOf(plan: MergePlan, followed?: FollowedReport): Omit<MergeResult, "text" | "warnings"> {
  return {
    kept: plan.kept,
    added: [...plan.added, ...(followed?.added ?? [])],
    updated: [...plan.updated, ...(followed?.updated ?? [])],
    removed: [...plan.removed, ...(followed?.removed ?? [])],
    ...(plan.deleted.length === 0 ? {} : { deleted: plan.deleted }),
  };
}
