import { h } from "../dom.js";

import type { ProgressGroup } from "../types.js";

/**
 * A bar's group: the API's, or `already-on`, the members the API counts as succeeded that ran the
 * release already and were sent nothing (`counted.alreadyOn`).
 */
type BarGroup = ProgressGroup | "already-on";

/**
 * The groups an operator reads a wave by, in the bar's order. Which deployment state falls in
 * which group is the hub's state machine table (hub/rollouts/states.ts); the API sends the counts.
 */
export const groups: readonly { key: BarGroup; label: string; mark: string }[] = [
  { key: "succeeded", label: "succeeded", mark: "✓" },
  // Apart from those it updated, as the engine counts them (`counted`): with them, a canary of 3
  // such hosts and 1 updated host that failed read "✓ 3 succeeded" in a mostly green bar, where the
  // rule beside it said "0 of 1 updated succeeded".
  { key: "already-on", label: "already on the release, not counted", mark: "=" },
  { key: "failed", label: "failed", mark: "✗" },
  { key: "rolled-back", label: "rolled back", mark: "↺" },
  { key: "in-progress", label: "in progress", mark: "⟳" },
  { key: "pending", label: "pending", mark: "…" },
  // Will not be updated: the rollout was aborted or failed before it sent them the release.
  { key: "cancelled", label: "cancelled", mark: "⊘" },
  // Its agent no longer takes the app (disabled or removed in its ship.toml): not sent, not a failure.
  { key: "not-applicable", label: "not applicable", mark: "–" },
  // An operator forgot its agent (`ship-hub agents forget`) before it reported on the release (sent
  // it or not), or before it answered its rollback instruction (listed as not rolled back then).
  { key: "forgotten", label: "forgotten", mark: "⌀" },
];

/** Groups that exist only in some waves: not a "0 cancelled" on every running wave. */
const RARE: readonly BarGroup[] = ["already-on", "cancelled", "not-applicable", "forgotten"];

/** Outside the release's test: neither in the bar's count of agents it updates nor of those finished. */
const NOT_UPDATED: readonly BarGroup[] = ["already-on", "not-applicable", "forgotten"];
/** Members still under way: not finished. */
const UNDER_WAY: readonly BarGroup[] = ["pending", "in-progress"];

/**
 * What a bar shows of a wave (or a rollout): the API's `progress` and `restored`, and of
 * `progress.succeeded` those that ran the release already (`alreadyOn`, the API's
 * `counted.alreadyOn`; a list row, which the API gives no such figure, leaves it 0) and the
 * release's `version` they run.
 */
export interface BarFigures {
  progress: Record<ProgressGroup, number>;
  restored: number;
  alreadyOn?: number;
  version?: string;
}

/**
 * `restored`: failed updates whose host put the previous version back by itself. They stay counted
 * as failed (the update did fail) and are counted as rolled back too, so "✗ 2 failed · ↺ 2 rolled
 * back" tells the truth; `bar` is the width each group takes in the bar (no agent twice).
 */
export function groupCounts(
  figures: BarFigures,
): { key: BarGroup; label: string; mark: string; n: number; bar: number }[] {
  const { progress, restored } = figures;
  const alreadyOn = figures.alreadyOn ?? 0;
  return groups.map((g) => {
    const n =
      g.key === "already-on"
        ? alreadyOn
        : g.key === "succeeded"
          ? progress.succeeded - alreadyOn
          : (progress[g.key] ?? 0);
    const label =
      g.key === "already-on" && figures.version !== undefined
        ? `already on ${figures.version}, not counted`
        : g.label;
    return { key: g.key, label, mark: g.mark, n: g.key === "rolled-back" ? n + restored : n, bar: n };
  });
}

export function countsText(figures: BarFigures): string {
  const parts = groupCounts(figures).filter((g) => g.n > 0);
  return parts.length === 0 ? "no agents" : parts.map((g) => `${g.mark} ${g.n} ${g.label}`).join(" · ");
}

/**
 * A stacked bar with the counts written beside it: colour, a pattern and a symbol per group,
 * so it reads without colour too. Widths go through the CSSOM, which the CSP permits.
 */
export function waveProgress(figures: BarFigures): HTMLElement {
  const parts = groupCounts(figures);
  // Its value is of the agents the wave updates (`counted.toUpdate`), finished or not: one on the
  // release already, or left out, is done before anything is sent and no measure of progress.
  const toUpdate = parts.filter((g) => !NOT_UPDATED.includes(g.key)).reduce((sum, g) => sum + g.bar, 0);
  const underWay = parts.filter((g) => UNDER_WAY.includes(g.key)).reduce((sum, g) => sum + g.bar, 0);
  const bar = h("div", {
    class: "bar",
    role: "progressbar",
    "aria-valuemin": 0,
    "aria-valuemax": toUpdate,
    "aria-valuenow": toUpdate - underWay,
    "aria-valuetext": countsText(figures),
  });
  for (const g of parts) {
    if (g.bar === 0) continue;
    const segment = h("span", { class: `seg seg-${g.key}`, title: `${g.n} ${g.label}` });
    segment.style.flexGrow = String(g.bar);
    bar.append(segment);
  }
  const legend = h(
    "ul",
    { class: "legend" },
    ...parts
      .filter((g) => !RARE.includes(g.key) || g.n > 0)
      .map((g) =>
        h(
          "li",
          { class: `lg-${g.key}`, "data-group": g.key },
          h("span", { class: `swatch seg-${g.key}` }),
          `${g.mark} ${g.n} ${g.label}`,
        ),
      ),
  );
  return h("div", { class: "progress" }, bar, legend);
}
