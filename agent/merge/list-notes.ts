/**
 * A list whose values neither the operator nor the release changed (a TOML array or `[[array]]`, a
 * YAML list), whose notes the operator left as the previous release shipped them, while the release
 * rewrote them: the operator's stale notes stayed, because a merge edits only what changed. A note
 * left as shipped takes the release's rewritten words on a list the release changes (the renderers'
 * item-note rules); these lists now get the same edit, to their own values, for the renderers only:
 * the key report names no change, and a list holding a note of the operator's stays as it is.
 */
import { isAlias, isNode } from "yaml";
import type { MergeFormat, Parsed } from "./index.js";
import type { MergeEdit, MergePlan } from "./plan.js";
import { arrayBlocks } from "./toml-blocks.js";
import { scanToml, type TomlEntry, type TomlLayout, tomlComments } from "./toml-scan.js";
import { noteHolders } from "./yaml-comment-lines.js";
import { placeOf } from "./yaml-shipped-comments.js";

interface Copies {
  user: { text: string; parsed: Parsed };
  release: { text: string; parsed: Parsed };
  base: { text: string; parsed: Parsed };
}

/** The edits that bring the release's notes to the unchanged lists the operator left as shipped. */
export function listNoteEdits(format: MergeFormat, plan: MergePlan, copies: Copies): MergeEdit[] {
  if (format === "json" || plan.unchangedLists.length === 0) return [];
  // Each copy scanned once, not once per list: a file of many tables each holding a list took time
  // growing with the square of its size (300 such tables, 20 KB, took five seconds).
  const scanned = new Map<string, TomlCopy>();
  const tomlCopy = (text: string) => {
    let copy = scanned.get(text);
    if (copy === undefined) {
      copy = scanTomlCopy(text);
      scanned.set(text, copy);
    }
    return copy;
  };
  const notesOf = (copy: Copies[keyof Copies], path: readonly string[]) =>
    format === "toml" ? tomlListNotes(tomlCopy(copy.text), path) : yamlListNotes(copy.parsed, path);
  return plan.unchangedLists.flatMap((path) => {
    const [mine, theirs, shipped] = [
      notesOf(copies.user, path),
      notesOf(copies.release, path),
      notesOf(copies.base, path),
    ];
    // A list the previous release shipped without notes has none to rewrite: the release's new ones
    // would only restyle it (a flow list the release writes in lines to hold them); and a release
    // without notes there takes none away, as on a list it changes.
    if (mine === undefined || !theirs || !shipped) return [];
    return mine === shipped && theirs !== shipped ? [{ kind: "set" as const, path }] : [];
  });
}

/** A TOML text with its layout, and its `key = value` entries by path. */
interface TomlCopy {
  side: { text: string; value: undefined; layout: TomlLayout };
  entries: Map<string, TomlEntry>;
}

function scanTomlCopy(text: string): TomlCopy {
  const layout = scanToml(text);
  const entries = new Map<string, TomlEntry>();
  for (const entry of layout.entries) {
    const key = entry.path === undefined ? undefined : JSON.stringify(entry.path);
    if (key !== undefined && !entries.has(key)) entries.set(key, entry);
  }
  return { side: { text, value: undefined, layout }, entries };
}

/** The comments written inside a TOML array or in the blocks of an `[[array]]`, one per line. */
function tomlListNotes({ side, entries }: TomlCopy, path: readonly string[]): string | undefined {
  const text = side.text;
  const entry = entries.get(JSON.stringify(path));
  const stretches = entry
    ? [text.slice(entry.valueStart, entry.valueEnd)]
    : arrayBlocks(side, path)?.map((b) => text.slice(b.start, b.contentEnd));
  return stretches?.flatMap(tomlComments).join("\n");
}

/** The comments a YAML list holds: above and after its items, and inside them. */
function yamlListNotes(parsed: Parsed, path: readonly string[]): string | undefined {
  const node = parsed.yaml === undefined ? undefined : placeOf(parsed.yaml.doc, path)?.pair.value;
  // A list written through an alias (`allow: *hosts`) is its anchor's: edited there, if anywhere.
  if (!isNode(node) || isAlias(node)) return undefined;
  // Where each note is counts: an empty place is kept as one, so a note moved reads as changed.
  const found = noteHolders(node).flatMap((n) => [n.commentBefore ?? "", n.comment ?? ""]);
  return found.some((text) => text !== "") ? found.join("\n") : "";
}
