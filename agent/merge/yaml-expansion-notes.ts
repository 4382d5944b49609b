/**
 * The notes of an alias or `<<` merge key the merge expanded into its own copy, said only of copies
 * that are in the merged file: a removal of an anchored value expands its aliases before a later
 * edit may remove the key or list item holding them (the release dropped `defaults: &d` and the
 * `ref: *d` using it), and the operator read a WARNING of a copy kept "to keep its value" for a key
 * the same run reported removed. Each copy is marked with its note; a mark is an own property, so
 * a list item the merge keeps as a clone of the user's (keepItemComments) still carries it.
 */
import { type Document, isNode, visit } from "yaml";

const NOTED = Symbol("expansion notes");
type Marked = { [NOTED]?: readonly string[] };

/** The notes each attempt's list holds that are about an expansion (the others are always said). */
const expansions = new WeakMap<string[], Set<string>>();

/** Notes `note` about the expanded `copy` (the alias's copy, or the map given own keys). */
export function noteExpansion(notes: string[], copy: object, note: string): void {
  notes.push(note);
  const marked = copy as Marked;
  // A new array, not a push: a clone shares the array of the node it was cloned from.
  marked[NOTED] = [...(marked[NOTED] ?? []), note];
  const noted = expansions.get(notes) ?? new Set<string>();
  noted.add(note);
  expansions.set(notes, noted);
}

/** `notes` without those about copies no longer in `doc` (gone with a value the merge removed). */
export function notesOfWhatStays(doc: Document, notes: string[]): string[] {
  const noted = expansions.get(notes);
  if (noted === undefined) return notes;
  const present = new Set<string>();
  const collect = (node: unknown) => {
    for (const note of (node as Marked)[NOTED] ?? []) present.add(note);
  };
  if (isNode(doc.contents)) collect(doc.contents);
  visit(doc, {
    Node(_key, node) {
      collect(node);
    },
  });
  return notes.filter((note) => !noted.has(note) || present.has(note));
}
