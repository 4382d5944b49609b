import { h } from "../dom.js";

import type { ProgressGroup } from "../types.js";

/**
 * The groups an operator reads a wave by, in the bar's order. Which deployment state falls in
 * which group is the hub's state machine table (hub/rollouts/states.ts); the API sends the counts.
 */
export const groups: readonly { key: ProgressGroup; label: string; mark: string }[] = [
  { key: "succeeded", label: "succeeded", mark: "✓" },
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
const RARE: readonly ProgressGroup[] = ["cancelled", "not-applicable", "forgotten"];

/**
 * `restored`: failed updates whose host put the previous version back by itself. They stay counted
 * as failed (the update did fail) and are counted as rolled back too, so "✗ 2 failed · ↺ 2 rolled
 * back" tells the truth; `bar` is the width each group takes in the bar (no agent twice).
 */
export function groupCounts(
  progress: Record<ProgressGroup, number>,
  restored: number,
): { key: ProgressGroup; label: string; mark: string; n: number; bar: number }[] {
  return groups.map((g) => {
    const n = progress[g.key] ?? 0;
    return {
      key: g.key,
      label: g.label,
      mark: g.mark,
      n: g.key === "rolled-back" ? n + restored : n,
      bar: n,
    };
  });
}

export function countsText(progress: Record<ProgressGroup, number>, restored: number): string {
  const parts = groupCounts(progress, restored).filter((g) => g.n > 0);
  return parts.length === 0 ? "no agents" : parts.map((g) => `${g.mark} ${g.n} ${g.label}`).join(" · ");
}

/**
 * A stacked bar with the counts written beside it: colour, a pattern and a symbol per group,
 * so it reads without colour too. Widths go through the CSSOM, which the CSP permits.
 */
export function waveProgress(progress: Record<ProgressGroup, number>, restored: number): HTMLElement {
  const parts = groupCounts(progress, restored);
  const total = parts.reduce((sum, g) => sum + g.bar, 0);
  const done = parts
    .filter((g) => g.key !== "pending" && g.key !== "in-progress")
    .reduce((s, g) => s + g.bar, 0);
  const bar = h("div", {
    class: "bar",
    role: "progressbar",
    "aria-valuemin": 0,
    "aria-valuemax": total,
    "aria-valuenow": done,
    "aria-valuetext": countsText(progress, restored),
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
