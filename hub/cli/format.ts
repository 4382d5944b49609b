/** Plain-text tables for people; scripts use --json. */
import { printable } from "../../shared/schema/unprintable.js";
import { quotedText } from "../quoted-text.js";
import { type DeploymentState, inStateOrder, REPORTED_FAILED_STATES } from "../rollouts/states.js";
import { displayWidth, padToWidth } from "./display-width.js";
import { decimalFlag } from "./number-flag.js";

export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? "-" : printable(String(c)))));
  // In terminal columns, not UTF-16 units: a wide or combined character shifted every column after it.
  const widths = headers.map((h, i) =>
    Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i] ?? ""))),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => padToWidth(c, widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/**
 * "30d", "12h", ".5d", "3600" (seconds) → seconds. The amount is a number flag's (decimalFlag): ".5d"
 * was refused where `--wait-minutes .5` is taken, and "1e1d" was "not a duration".
 */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\S*?)([smhdwy]?)$/.exec(text.trim());
  const amount = match ? decimalFlag(match[1] ?? "", `${flag} ${quotedText(text)}`) : undefined;
  if (amount === undefined)
    throw new RangeError(`${flag} ${quotedText(text)} is not a duration (use e.g. 30d, 12h, 1.5h, 3600s)`);
  return Math.round(amount * (UNITS[match?.[2] || "s"] ?? 1));
}

/**
 * Deployments per state, as `rollout list`/`show` print them. `restored`: of the failed ones, how
 * many their host rolled back by itself (the API's `restored`, which the dashboard shows as "↺ N
 * rolled back" beside "✗ N failed"): said beside `failed`, so no view hides it.
 */
export function counts(record: Record<string, number>, restored: number): string {
  // In the hub's one order, also when an older hub sent them in another.
  const parts = Object.entries(inStateOrder(record)).map(([k, v]) =>
    REPORTED_FAILED_STATES.includes(k as DeploymentState) && restored > 0
      ? `${k}=${v} (${restored} rolled back by their host)`
      : `${k}=${v}`,
  );
  return parts.length === 0 ? "-" : parts.join(" ");
}
