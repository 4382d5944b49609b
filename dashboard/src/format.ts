import { DECIMAL, notationProblem as sharedNotation } from "./number-notation.js";
import { waveRule as sharedWaveRule } from "./rollout-rules.js";
import type { WaveSpec } from "./types.js";
import { writtenOut } from "./written-out.js";

export function when(iso: string | number): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** A time the hub writes inside its texts (shown-time.ts: ISO 8601, UTC). */
const ISO_IN_TEXT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g;

/**
 * A hub text (a deployment's error, a reason, a warning) with each time it names in the operator's
 * zone, as the page writes every other time (`when`): "agent forgotten by operator at
 * 2026-12-07T04:12:33.000Z" sat beside "12/7/2026, 5:12:33 AM" for the same moment.
 */
export function localTimes(text: string): string {
  return text.replace(ISO_IN_TEXT, (iso) => when(iso));
}

/** "12 s ago": the fleet view's last-seen column, relative to the browser's clock. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/**
 * A number as the forms take it: decimal digits with an optional fraction ("5", "2.5", ".5"),
 * blanks around it ignored; anything else (empty included) is undefined, for the field's one-line
 * refusal. `Number()` read "0x32" as 50 and "1e1" as 10, which the CLI refuses in the same flag:
 * this is the CLI's rule (hub/cli/number-flag.ts decimalFlag; a test holds them alike).
 */
export function decimalNumber(text: string): number | undefined {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * A field's refusal of what `decimalNumber` does not take: "1e1" is a number (10) in another
 * notation, which "must be a number" said it was not; anything else is `otherwise`. The CLI's words
 * (one rule with hub/cli/number-flag.ts: dashboard/src/number-notation.ts).
 */
export function numberProblem(text: string, otherwise: string): string {
  return notationProblem(text.trim()) ?? otherwise;
}

/** A number's notation refused, in the CLI's words (number-notation.ts). */
export function notationProblem(text: string): string | undefined {
  return sharedNotation(text);
}

/**
 * `env=prod, region=eu` ⇄ { env: "prod", region: "eu" }: how the forms take labels. A pair holding
 * a comma is written whole in double quotes (`"zone=rack a,b"`, JSON escapes), as the page shows it
 * back (labelPairText): split at every comma, no form could choose an agent whose value holds one.
 */
export function parseLabels(text: string): Record<string, string> {
  // A Map: a label may be called `constructor` or `__proto__`, which an object literal misreads.
  const labels = new Map<string, string>();
  for (const pair of splitLabelList(text)) {
    if (!pair) continue;
    const at = pair.indexOf("=");
    // Quoted as JSON, a `"` in it escaped: the quote must end where the pair does.
    if (at <= 0) throw new Error(`${JSON.stringify(pair)} is not key=value`);
    const key = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    // An agent has one value per label: the later one used to replace the earlier unsaid.
    const earlier = labels.get(key);
    if (earlier !== undefined)
      throw new Error(
        `${key} is given twice (${key}=${earlier}, ${key}=${value}): an agent carries one value per label, so none matches both`,
      );
    labels.set(key, value);
  }
  return Object.fromEntries(labels);
}

/**
 * The pairs of a comma-separated list, blanks around each no part of it (an empty one is ""). A
 * pair beginning with `"` is read whole up to its closing quote, commas included, its escapes as
 * JSON reads them. The CLI's `--wave NAME=label:…` reads the same rule (hub/label-pairs.ts
 * splitLabelList; a test holds them alike).
 */
export function splitLabelList(text: string): string[] {
  const pairs: string[] = [];
  let at = 0;
  for (;;) {
    while (/\s/u.test(text[at] ?? "")) at++;
    if (text[at] === '"') {
      const quoted = /^"(?:[^"\\]|\\.)*"/su.exec(text.slice(at))?.[0];
      if (quoted === undefined)
        throw new Error(
          `${JSON.stringify(text.slice(at, at + 60))}: the quote is not closed (a pair holding a comma or a quote is written whole in double quotes, "zone=rack a,b", a " in it as \\")`,
        );
      let pair: string;
      try {
        pair = JSON.parse(quoted) as string;
      } catch {
        throw new Error(
          `${quoted.slice(0, 60)}: not a quoted pair (inside the quotes, write a " as \\" and a \\ as \\\\)`,
        );
      }
      at += quoted.length;
      while (/\s/u.test(text[at] ?? "")) at++;
      if (at < text.length && text[at] !== ",")
        throw new Error(
          `${JSON.stringify(pair)}${text.slice(at, at + 20)}: a quoted pair ends at its closing quote; put a comma after it`,
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

/**
 * `a1, a2` (or `a1 a2`) as the forms take an agents wave's ids. An empty one between commas, or a
 * comma at either end (`a1,,a2`, `a1,`), is refused: it was dropped unsaid, and the operator who
 * meant a third id there got a wave without it. The CLI's `--wave NAME=agents:…` reads the same rule.
 */
export function parseAgentIds(text: string): string[] {
  // One count for empty ids and the ids the hub refuses by their place (form-terms' `agents[j]`):
  // each id split by spaces too, as the CLI counts them ("a1 a2,,a3": the empty one is id 3, where
  // counting by commas alone said "id 2", which is a2).
  const ids = text
    .split(",")
    .map((part) => part.trim())
    .flatMap((part) => (part === "" ? [""] : part.split(/\s+/)));
  const empty = ids.indexOf("");
  if (empty >= 0 && text.trim() !== "")
    throw new Error(
      `agent id ${empty + 1} of ${JSON.stringify(text.trim())} is empty (two commas together, or a comma at an end): separate the ids by one comma`,
    );
  return ids.filter(Boolean);
}

/** Who a wave takes, beside its bar (rollout-rules.ts, in `rollout show`'s words). */
export function waveRule(wave: WaveSpec | undefined): string {
  return sharedWaveRule(wave, labelPairsText);
}

/**
 * Why a running rollout's auto-advance waits after a hub restart, in `rollout show`'s words
 * (hub/cli/remote-commands.ts heldText): on the rollout page and in the list.
 */
export function heldText(held: { agents: string[]; until: string }): string {
  return `since the hub started, until ${held.agents.join(", ")} of this wave say(s) hello again (each may have left the release while the hub was down), at the latest ${when(held.until)}`;
}

/**
 * A rollout's selector as the form takes it (`env=prod, ring=main`), a pair holding a space, a
 * comma, a quote or a backslash quoted as JSON; none: every agent with the app.
 */
export function selectorText(labels: Readonly<Record<string, string>> | undefined, app: string): string {
  const pairs = labelPairsText(labels ?? {});
  if (pairs.length === 0) return `none (every agent with app ${app})`;
  return pairs.join(", ");
}

export function formatLabels(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

/**
 * Each pair as the forms take it back: in double quotes (JSON) when it holds white space, a comma,
 * a semicolon, a quote or a backslash, or a character that does not show (a control or zero-width
 * character, escaped inside the quotes: shown bare, no one could type it back), as the CLI says it
 * (hub/label-pairs.ts labelPairText; shared/schema/unprintable.ts is out of this bundle's reach,
 * a test holds the two alike).
 */
export function labelPairsText(labels: Readonly<Record<string, string>>): string[] {
  return formatLabels(labels).map((pair) =>
    /[\s,;"\\]/u.test(pair) || UNSHOWN.test(pair)
      ? `"${pair.replace(/["\\]/g, "\\$&").replace(new RegExp(UNSHOWN.source, "gu"), writtenOut)}"`
      : pair,
  );
}

const UNSHOWN = /[\p{Cc}\p{Zl}\p{Zp}]|(?!\u200d)\p{Cf}/u;

/**
 * What a rollout's reason adds after its state's pill, each said once (as `ship-hub rollout show`
 * prints it). The hub's reasons begin with the state they explain ("aborted", "aborted; rollback
 * sent to …", "paused by an operator"): shown after the pill, the page read "aborted — aborted".
 * Such a reason runs on from the state; any other follows a dash; one that is only the state, nothing.
 */
export function reasonAfterState(state: string, stored: string | null): string {
  if (!stored) return "";
  const reason = localTimes(stored);
  const rest = reason.slice(state.length);
  if (reason.startsWith(state) && (rest === "" || /^[;, ]/u.test(rest))) return rest;
  return ` — ${reason}`;
}
