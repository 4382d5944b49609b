/**
 * The start of a text cut to at most `max` UTF-16 units (the length the hub's schemas count), never
 * between the halves of a surrogate pair: half an emoji is no character UTF-8 can carry, so the
 * state file, a log line and the hub read U+FFFD for it.
 */
export function textStart(text: string, max: number): string {
  const cut = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) && text.length > max ? cut.slice(0, -1) : cut;
}
