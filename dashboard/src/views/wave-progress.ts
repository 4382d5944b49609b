import { h } from "../dom.js";

/** The five groups an operator reads a wave by; each deployment state falls in exactly one. */
export const groups = [
  { key: "succeeded", label: "succeeded", mark: "✓", states: ["succeeded"] },
  { key: "failed", label: "failed", mark: "✗", states: ["failed", "timed_out"] },
  { key: "rolled-back", label: "rolled back", mark: "↺", states: ["rolled_back"] },
  {
    key: "in-progress",
    label: "in progress",
    mark: "⟳",
    states: ["sent", "in_progress", "rollback_pending"],
  },
  { key: "pending", label: "pending", mark: "…", states: ["pending"] },
] as const;

export function groupCounts(
  counts: Record<string, number>,
): { key: string; label: string; mark: string; n: number }[] {
  return groups.map((g) => ({
    key: g.key,
    label: g.label,
    mark: g.mark,
    n: g.states.reduce((sum, s) => sum + (counts[s] ?? 0), 0),
  }));
}

export function countsText(counts: Record<string, number>): string {
  const parts = groupCounts(counts).filter((g) => g.n > 0);
  return parts.length === 0 ? "no agents" : parts.map((g) => `${g.mark} ${g.n} ${g.label}`).join(" · ");
}

/**
 * A stacked bar with the counts written beside it: colour, a pattern and a symbol per group,
 * so it reads without colour too. Widths go through the CSSOM, which the CSP permits.
 */
export function waveProgress(counts: Record<string, number>): HTMLElement {
  const parts = groupCounts(counts);
  const total = parts.reduce((sum, g) => sum + g.n, 0);
  const done = parts
    .filter((g) => g.key !== "pending" && g.key !== "in-progress")
    .reduce((s, g) => s + g.n, 0);
  const bar = h("div", {
    class: "bar",
    role: "progressbar",
    "aria-valuemin": 0,
    "aria-valuemax": total,
    "aria-valuenow": done,
    "aria-valuetext": countsText(counts),
  });
  for (const g of parts) {
    if (g.n === 0) continue;
    const segment = h("span", { class: `seg seg-${g.key}`, title: `${g.n} ${g.label}` });
    segment.style.flexGrow = String(g.n);
    bar.append(segment);
  }
  const legend = h(
    "ul",
    { class: "legend" },
    ...parts.map((g) =>
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
