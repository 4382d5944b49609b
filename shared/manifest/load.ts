import { type Document, isMap, isScalar, LineCounter, parseDocument, type YAMLError } from "yaml";
import { readUpTo, TooLargeError } from "../bounded-read.js";
import { BadInputError, type Issue } from "../errors.js";
import { fsErrorText } from "../fs-errors.js";
import { toIssues } from "../schema/issues.js";
import { formatKeyPath, type KeyPath } from "../schema/key-path.js";
import type { Problem } from "../schema/problem.js";
import { validateAgainst } from "../schema/zod-problems.js";
import { binaryKind, notUtf8, notUtf8Message, UNKNOWN_BINARY } from "../utf8-text.js";
import { firstAliasPastDepth, firstYamlPastDepth } from "../yaml-depth.js";
import { manifestChecks } from "./checks.js";
import { duplicateKeys } from "./duplicate-keys.js";
import {
  checkManifestShape,
  checkManifestText,
  HUB_MANIFEST_LIMITS,
  MANIFEST_MAX_DEPTH,
  type ManifestLimits,
  tooDeep,
} from "./limits.js";
import {
  conditionalActions,
  fileActions,
  Manifest,
  mergeStrategies,
  rollbackTriggers,
  sectionStrategies,
} from "./schema.js";
import { positionInYaml } from "./yaml-positions.js";

export interface LoadedManifest {
  manifest: Manifest;
  warnings: Issue[];
}

const nouns = new Map<string, string>([
  [fileActions.join(), "action"],
  [mergeStrategies.join(), "merge strategy"],
  [sectionStrategies.join(), "strategy"],
  [conditionalActions.join(), "action"],
  [rollbackTriggers.join(), "rollback trigger"],
  [["log", "webhook", "slack"].join(), "notification type"],
]);

/**
 * Where the manifest holds command lines (and conditions, which may run one): an error there names
 * the key, never the string, as every other word of a run names a command by its program.
 */
function holdsCommand(path: KeyPath): boolean {
  const [top, second] = path;
  const last = path[path.length - 1];
  if (top === "hooks" || top === "migrations") return true;
  if (top === "rollback") return second === "custom_rollback_command";
  if (top === "post_update_tests") return last === "command";
  return top === "conditionals" && last === "condition";
}

function syntaxIssue(error: YAMLError, file: string, lines: LineCounter, severity: Issue["severity"]): Issue {
  const { line, col } = lines.linePos(error.pos[0]);
  return { file, line, column: col, path: "", message: `YAML: ${error.message.split("\n")[0]}`, severity };
}

/** `2.0:` is the number 2 in YAML, so an unquoted migration version silently changes meaning. */
function unquotedNumberKeys(doc: Document): Problem[] {
  const migrations = isMap(doc.contents) ? doc.contents.get("migrations", true) : undefined;
  if (!isMap(migrations)) return [];
  return migrations.items.flatMap((pair): Problem[] => {
    if (!isScalar(pair.key) || typeof pair.key.value !== "number") return [];
    const source = pair.key.source ?? String(pair.key.value);
    const message = `version ${source} is read as the number ${pair.key.value}; quote it: "${source}"`;
    return [{ path: ["migrations", String(pair.key.value)], message, severity: "error", at: "key" }];
  });
}

/**
 * Top-level `x-…` keys hold YAML anchors for reuse (`x-hook: &hook …`, then `- *hook`), as in
 * docker-compose files; they are not settings, so they are removed without a warning.
 */
function dropExtensionKeys(data: unknown): void {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return;
  for (const key of Object.keys(data))
    if (key.startsWith("x-")) delete (data as Record<string, unknown>)[key];
}

/**
 * Parses and validates an update manifest. Throws BadInputError listing every error (YAML syntax,
 * schema, globs, migration versions, conditions), each with line:column and key path; unknown keys
 * are returned as warnings and ignored. Without `limits` (the agent), keys and list items its
 * aliases expand past the hub's limits are refused; with them (the hub's), its size, indentation,
 * keys and list items are bounded before it is walked.
 */
/**
 * How a manifest's YAML is read: with merge keys (`<<`) and up to MANIFEST_MAX_ALIASES aliases.
 * Everything that reads a manifest for what it says (the hub's mask of its secrets included) reads
 * it this way: the mask read it without merge keys, and a webhook written through `<<` was shown.
 */
export const MANIFEST_YAML_OPTIONS = { merge: true, uniqueKeys: false } as const;
export const MANIFEST_MAX_ALIASES = 1000;

export function parseManifestText(text: string, file: string, limits?: ManifestLimits): LoadedManifest {
  if (limits !== undefined) checkManifestText(text, file, limits);
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    ...MANIFEST_YAML_OPTIONS,
  });
  // Before anything walks the document (the duplicate-key check recurses per level too), and on the
  // agent as on the hub: a release's manifest is as untrusted as a published one.
  const maxDepth = limits?.maxDepth ?? MANIFEST_MAX_DEPTH;
  if (firstYamlPastDepth(doc, text, maxDepth) !== undefined) throw tooDeep(file, maxDepth);
  // As toJS will expand it: an anchor used further down nests as deep as it lands.
  const alias = doc.errors.length > 0 ? undefined : firstAliasPastDepth(doc, maxDepth);
  if (alias !== undefined) {
    const { line, col } = lines.linePos(alias);
    throw new BadInputError([
      {
        file,
        line,
        column: col,
        path: "",
        message: `nests deeper than ${maxDepth} levels once its aliases are expanded (an alias here lands too deep, or inside what it refers to)`,
        severity: "error",
      },
    ]);
  }
  // Named with its key path and its first line, as ship.toml's "is set twice" is: "YAML: Map keys
  // must be unique" named neither, so the operator hunted for which of the files' rules it meant.
  const duplicates = duplicateKeys(doc).map(({ offset, first, path }): Issue => {
    const { line, col } = lines.linePos(offset);
    return {
      file,
      line,
      column: col,
      path: formatKeyPath(path),
      message: `is written twice in its mapping (first at line ${lines.linePos(first).line}): keep one`,
      severity: "error",
    };
  });
  if (doc.errors.length > 0 || duplicates.length > 0) {
    const syntax = doc.errors.map((e) => syntaxIssue(e, file, lines, "error"));
    throw new BadInputError(
      [...syntax, ...duplicates].sort(
        (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
      ),
    );
  }
  // On the agent too: a git or local release reaches it without the hub, and 990 aliases of a
  // 1,000-item anchor (17 KB) took it 9 s of CPU wording 989,900 problems.
  checkManifestShape(doc, file, limits ?? HUB_MANIFEST_LIMITS, limits === undefined);
  const yamlWarnings = doc.warnings.map((w) => syntaxIssue(w, file, lines, "warning"));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MANIFEST_MAX_ALIASES });
  } catch (e) {
    // The yaml library refuses alias expansion bombs ("billion laughs") here.
    throw BadInputError.single(file, "", `YAML: ${(e as Error).message}`);
  }
  if (data === null || data === undefined) {
    throw BadInputError.single(file, "", 'the manifest is empty; it needs at least version: "x.y.z"');
  }
  dropExtensionKeys(data);
  const checks = [...unquotedNumberKeys(doc), ...manifestChecks(data)];
  const { value, problems } = validateAgainst(Manifest, data, {
    enumNoun: (values) => nouns.get(values.join()),
    unquoted: holdsCommand,
  });
  const issues = [
    ...yamlWarnings,
    ...toIssues([...checks, ...problems], file, (p) => positionInYaml(doc, text, lines, p)),
  ];
  if (value === undefined || issues.some((i) => i.severity === "error")) throw new BadInputError(issues);
  return { manifest: value, warnings: issues };
}

/** Reads and parses a manifest file; a missing or unreadable file is bad input too (exit 2). */
export async function loadManifestFile(path: string): Promise<LoadedManifest> {
  return parseManifestText(await readManifestText(path), path);
}

/**
 * A manifest file's text, refused (exit 2) as `ship --test-manifest` refuses it: unreadable, too
 * large, binary or not UTF-8. Everything that reads an author's manifest from disk reads it here:
 * `ship release http`/`git` read it with readFile(…, "utf8"), which rewrote a Latin-1 byte (or
 * UTF-16 text) to U+FFFD, and built, committed and tagged the result, exit 0.
 */
export async function readManifestText(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readUpTo(path, "a manifest");
  } catch (e) {
    if (e instanceof TooLargeError) throw BadInputError.single(path, "", e.message);
    throw BadInputError.single(path, "", `cannot read the manifest: ${fsErrorText(e)}`);
  }
  return manifestText(bytes, path);
}

/**
 * A manifest is YAML text. `ship --test-manifest myapp-2.0.0.tar.gz` (the release for its manifest)
 * said "YAML: Comments must be separated from other tokens…", and another binary file gave one
 * YAML error per token, hundreds of lines of its bytes: one line says what the file is instead.
 */
export function manifestText(bytes: Buffer, file: string): string {
  const notText = (what: string) =>
    BadInputError.single(
      file,
      "",
      `${what}, not an update manifest (YAML text, update-manifest.yaml at a release's root)`,
    );
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) throw notText("is a gzip file (a release archive?)");
  if (bytes.subarray(257, 262).toString("latin1") === "ustar") throw notText("is a tar archive (a release?)");
  // One test for every reader of non-UTF-8 input (utf8-text.ts): UTF-16 text, whose NUL beside
  // each ASCII character is no sign of a binary file, is left to notUtf8 to name.
  const binary = binaryKind(bytes);
  if (binary === UNKNOWN_BINARY) throw notText("is not UTF-8 text (a binary file?)");
  if (binary !== undefined) throw notText(`is ${binary}`);
  const found = notUtf8(bytes);
  if (found?.utf16 === true) throw BadInputError.single(file, "", notUtf8Message(found, "a manifest"));
  // A Latin-1 é in a description: text, not a binary file; named where, as ship.toml's is.
  if (found !== undefined)
    throw new BadInputError([
      {
        file,
        line: found.line,
        column: found.column,
        path: "",
        message: notUtf8Message(found, "a manifest"),
        severity: "error",
      },
    ]);
  return bytes.toString("utf8");
}
