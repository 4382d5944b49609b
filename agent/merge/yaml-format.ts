/**
 * YAML merges edit the server copy's Document in place, so its comments, key order, quoting and
 * blank lines survive; keys taken from the release bring the release's comments with them.
 * Anchors/aliases and `<<` merge keys on an edited path cannot be edited in place: the result is
 * then rebuilt from values (comments lost) and a warning says so.
 */
import { Document, isMap, isNode, isScalar, type Pair, parseDocument, YAMLMap } from "yaml";
import { applyEditsToValue } from "./apply-plain.js";
import { type CopyRole, parseFailure } from "./parse-error.js";
import type { MergeEdit } from "./plan.js";
import { sameValue } from "./values.js";

export interface ParsedYaml {
  doc: Document;
  value: unknown;
}

export function parseYaml(text: string, fileName: string, role: CopyRole): ParsedYaml {
  const doc: Document = parseDocument(text);
  const error = doc.errors[0];
  if (error !== undefined) {
    const at = error.linePos?.[0];
    const firstLine = error.message.split("\n")[0] ?? error.message;
    throw parseFailure(fileName, role, firstLine, at && { line: at.line, column: at.col });
  }
  // An empty file is an empty mapping, so update_only can add the release's keys to it.
  if (doc.contents === null) doc.contents = new YAMLMap();
  return { doc, value: doc.toJS({ maxAliasCount: 1000 }) };
}

export interface YamlRender {
  text: string;
  warnings: string[];
}

export function renderYamlMerge(
  userText: string,
  user: ParsedYaml,
  release: ParsedYaml,
  edits: MergeEdit[],
): YamlRender {
  if (edits.length === 0) return { text: userText, warnings: [] };
  const expected = applyEditsToValue(user.value, release.value, edits);
  const options = { lineWidth: 0, ...detectLayout(userText) };
  const edited = user.doc.clone();
  try {
    for (const edit of edits) applyEdit(edited, release.doc, edit);
    const text = edited.toString(options);
    if (sameValue(parseDocument(text).toJS({ maxAliasCount: 1000 }), expected)) return { text, warnings: [] };
  } catch {
    // Fall through: an alias or merge key is in the way of an in-place edit.
  }
  return {
    text: new Document(expected).toString(options),
    warnings: [
      "the merged YAML was rebuilt from values (anchors, aliases or merge keys on a changed key): comments were not kept",
    ],
  };
}

function applyEdit(target: Document, release: Document, edit: MergeEdit): void {
  if (edit.path.length === 0) {
    const contents = release.contents?.clone();
    target.contents = isNode(contents) ? contents : null;
    return;
  }
  const parentPath = edit.path.slice(0, -1);
  const key = edit.path[edit.path.length - 1] as string;
  const parent = mapAt(target, parentPath);
  const index = parent.items.findIndex((pair) => keyText(pair) === key);
  if (edit.kind === "remove") {
    if (index >= 0) parent.items.splice(index, 1);
    return;
  }
  const source = mapAt(release, parentPath).items.find((pair) => keyText(pair) === key);
  if (source === undefined) throw new Error(`release has no ${edit.path.join(".")}`);
  const existing = index >= 0 ? parent.items[index] : undefined;
  if (existing === undefined) {
    parent.items.push(source.clone());
  } else {
    // Keep the user's key node (and the comments above it); take the release's value node.
    const value: unknown = source.value;
    existing.value = isNodeWithClone(value) ? value.clone() : value;
  }
}

function mapAt(doc: Document, path: readonly string[]): YAMLMap<unknown, unknown> {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (!isMap(node)) break;
    node = node.items.find((pair) => keyText(pair) === key)?.value;
  }
  if (!isMap(node)) throw new Error(`no mapping at ${path.join(".")}`);
  return node;
}

function keyText(pair: Pair<unknown, unknown>): string {
  const key = pair.key;
  return String(isScalar(key) ? key.value : key);
}

function isNodeWithClone(value: unknown): value is { clone(): unknown } {
  return (
    typeof value === "object" && value !== null && typeof (value as { clone?: unknown }).clone === "function"
  );
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
