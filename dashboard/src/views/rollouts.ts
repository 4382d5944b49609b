import { get } from "../api.js";
import { fill, h, link, table } from "../dom.js";
import { shortId, when } from "../format.js";
import { newestOnly } from "../newest.js";
import type { RolloutSummary } from "../types.js";
import type { View } from "./view.js";
import { countsText } from "./wave-progress.js";

/** Rollouts, newest first, with a way to start a new one. */
export function rolloutsView(): View {
  const list = h("div", { id: "rollout-list" });
  const view: View = {
    title: "Rollouts",
    root: h(
      "section",
      {},
      h("h1", {}, "Rollouts"),
      h("p", {}, h("a", { href: "#/rollouts/new", class: "button" }, "New rollout…")),
      list,
    ),
    refresh,
  };

  const turn = newestOnly();
  async function refresh(): Promise<void> {
    const isNewest = turn();
    const { rollouts, more } = await get<{ rollouts: RolloutSummary[]; more?: boolean }>(
      "rollouts?limit=100",
    );
    if (!isNewest()) return;
    fill(
      list,
      more === true
        ? h(
            "p",
            { class: "sub", id: "rollout-cutoff" },
            "The newest 100 rollouts; older ones are not listed.",
          )
        : null,
      rollouts.length === 0
        ? h("p", { class: "empty" }, "No rollout yet.")
        : table(
            ["Rollout", "Release", "State", "Wave", "Agents", "Created"],
            rollouts.map((r) =>
              h(
                "tr",
                {},
                h("td", {}, link(`/rollouts/${encodeURIComponent(r.id)}`, shortId(r.id))),
                h("td", {}, `${r.release.app} ${r.release.version}`),
                // Why it stands there: halted on its threshold or paused by hand, a wave waiting
                // for an operator ("running"), a completion with failures read alike without it.
                h(
                  "td",
                  {},
                  h("span", { class: `pill state-${r.state}` }, r.state),
                  r.reason ? h("div", { class: "sub rollout-reason" }, r.reason) : null,
                ),
                h("td", {}, `${r.currentWave + 1}: ${r.currentWaveName}`),
                h("td", {}, countsText(r.progress, r.restored)),
                h("td", {}, when(r.created)),
              ),
            ),
          ),
    );
  }
  return view;
}
