/**
 * The `{name}`s a notification's message may use. A message may hold other braces (JSON, a code
 * sample), so an unknown `{word}` is sent as written; the manifest's checks warn about one that
 * looks like a placeholder, since a typo (`{verison}`) or a guess (`{previous_version}`) went out
 * to the channel on every update with nobody told.
 */
import { didYouMean } from "../schema/did-you-mean.js";

export const MESSAGE_PLACEHOLDERS = ["version", "error", "app", "host", "system_id", "timestamp"] as const;
export type MessagePlaceholder = (typeof MESSAGE_PLACEHOLDERS)[number];

const WORD_IN_BRACES = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** For each `{word}` of `text` that is no placeholder: what to say about it. */
export function unknownPlaceholders(text: string): string[] {
  const known: readonly string[] = MESSAGE_PLACEHOLDERS;
  const unknown = new Set<string>();
  for (const [, word] of text.matchAll(WORD_IN_BRACES))
    if (word !== undefined && !known.includes(word)) unknown.add(word);
  return [...unknown].map((word) => {
    const close = didYouMean(word, known);
    const hint = close === undefined ? "" : `; did you mean {${close}}?`;
    return `{${word}} is no placeholder and is sent as written (placeholders: ${MESSAGE_PLACEHOLDERS.map((p) => `{${p}}`).join(" ")})${hint}`;
  });
}
