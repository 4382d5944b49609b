/**
 * Label pairs as operators type them in a list (`--wave NAME=label:K=V,K=V`) and as the hub says
 * them back (a rollout's selector, a refusal listing the agents' labels, `ship-hub agents`): one
 * rule both ways. A pair whose value holds a comma (`zone=rack a,b`: an agent may report any text)
 * is said in double quotes, `"zone=rack a,b"`, and a list reads such a quoted pair back whole; the
 * list split at every comma, so `--selector` could choose that agent and a labels wave could not.
 * The dashboard's forms read and say them by the same rule (dashboard/src/format.ts, a test holds
 * them alike).
 */
import { printable, UNPRINTABLE } from "../shared/schema/unprintable.js";
import { quotedText } from "./quoted-text.js";

/**
 * `KEY=VALUE` as the hub says it back: in double quotes (quotedText, a JSON string) when it holds
 * white space, a comma, a semicolon (the rollout refusal's separator of label sets), a quote or a
 * backslash, so that a list reads it back as one pair, or a character `printable` escapes (ESC, a
 * zero-width space): bare, its escape `\u001b` typed back was that text, not the character, and
 * chose no agent; in quotes a list reads the escape as JSON does. As it is otherwise.
 */
export function labelPairText(key: string, value: string): string {
  const pair = `${key}=${value}`;
  return /[\s,;"\\]/u.test(pair) || UNPRINTABLE.test(pair) ? quotedText(pair) : pair;
}

/** Every pair of `labels` as `labelPairText` says it. */
export function labelPairsText(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([key, value]) => labelPairText(key, value));
}

/**
 * The pairs of a comma-separated list, each as text (`KEY=VALUE`, not yet split at its `=`), blanks
 * around each one no part of it, an empty one kept as "" for the caller to skip or refuse. A pair
 * beginning with `"` is a quoted one (as `labelPairText` writes it: JSON escapes), read whole,
 * commas included, up to its closing quote; throws a RangeError saying what is wrong when its quote
 * is not closed or text follows it before the next comma.
 */
export function splitLabelList(text: string): string[] {
  const pairs: string[] = [];
  let at = 0;
  for (;;) {
    while (/\s/u.test(text[at] ?? "")) at++;
    if (text[at] === '"') {
      const quoted = /^"(?:[^"\\]|\\.)*"/su.exec(text.slice(at))?.[0];
      if (quoted === undefined)
        throw new RangeError(
          `${printable(text.slice(at, at + 60))}: the quote is not closed (a pair holding a comma or a quote is written whole in double quotes, "zone=rack a,b", a " in it as \\")`,
        );
      const pair = readQuoted(quoted);
      at += quoted.length;
      while (/\s/u.test(text[at] ?? "")) at++;
      if (at < text.length && text[at] !== ",")
        throw new RangeError(
          `${quotedText(pair)}${printable(text.slice(at, at + 20))}: a quoted pair ends at its closing quote; put a comma after it`,
        );
      pairs.push(pair);
    } else {
      const end = text.indexOf(",", at);
      pairs.push(text.slice(at, end < 0 ? text.length : end).trim());
      at = end < 0 ? text.length : end;
    }
    if (at >= text.length) return pairs;
    at++; // past the comma
  }
}

/** A quoted pair's text: its escapes read as JSON reads them (`\"`, `\\`, `\u001b`). */
function readQuoted(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    throw new RangeError(
      `${printable(quoted.slice(0, 60))}: not a quoted pair (inside the quotes, write a " as \\" and a \\ as \\\\)`,
    );
  }
}
