import { get } from "../api.js";
import { fill, h, link, table } from "../dom.js";
import { heldText, localTimes, shortId, when } from "../format.js";
import { newestOnly } from "../newest.js";
import type { RolloutSummary } from "../types.js";
import { olderControl, readDown } from "./older.js";
import type { View } from "./view.js";
import { countsText } from "./wave-progress.js";

const PAGE = 100;

type RolloutPage = { rollouts: RolloutSummary[]; more?: boolean; next?: string };
/** A place in the hub's order (newest `created` first, then id ascending): its `next`/`?after=`. */
type Place = { created: number; id: string };

const placeOf = (r: RolloutSummary): Place => ({ created: Date.parse(r.created), id: r.id });
function parsePlace(next: string): Place {
  const dot = next.indexOf(".");
  return { created: Number(next.slice(0, dot)), id: next.slice(dot + 1) };
}
const isNewer = (a: Place, b: Place) => a.created > b.created || (a.created === b.created && a.id < b.id);

/** Rollouts, newest first, with a way to start a new one; "Older rollouts" reads further back. */
export function rolloutsView(): View {
  const list = h("div", { id: "rollout-list" });
  const older = olderControl("Older rollouts", "older-error", refresh);
  const view: View = {
    title: "Rollouts",
    root: h(
      "section",
      {},
      h("h1", {}, "Rollouts"),
      h("p", {}, h("a", { href: "#/rollouts/new", class: "button" }, "New rollout…")),
      list,
      older.root,
    ),
    refresh,
  };
  /**
   * Once older pages are shown, the oldest rollout shown: every read reaches down to it, so that
   * rollouts created meanwhile push the list down without dropping any between the pages, and an
   * older rollout's state (paused, resumed) stays current.
   */
  let floor: Place | null = null;

  /** Every rollout down to `floor`; with `further`, one page past it. */
  function read(further: boolean) {
    const reach = floor;
    return readDown<RolloutSummary, string>(
      async (after) => {
        const page = await get<RolloutPage>(
          `rollouts?limit=${PAGE}${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`,
        );
        return { rows: page.rollouts, next: page.more === true ? page.next : undefined };
      },
      reach && {
        above: (next) => isNewer(parsePlace(next), reach),
        shows: (r) => !isNewer(reach, placeOf(r)),
      },
      further,
    );
  }

  const turn = newestOnly();
  async function refresh(): Promise<void> {
    const isNewest = turn();
    const further = older.asked();
    const found = await older.reading(isNewest, read(further));
    if (!isNewest()) return;
    const { rows: rollouts, more } = found;
    const last = rollouts.at(-1);
    if (further && last) floor = placeOf(last);
    older.drawn(more);
    fill(
      list,
      more
        ? h(
            "p",
            { class: "sub", id: "rollout-cutoff" },
            `The newest ${rollouts.length} rollouts; “Older rollouts” below reads further back.`,
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
                  // Not under its pill again when it is only the state ("aborted").
                  r.reason && r.reason !== r.state
                    ? h("div", { class: "sub rollout-reason" }, localTimes(r.reason))
                    : r.advanceHeldUntilHeard
                      ? h(
                          "div",
                          { class: "sub rollout-reason" },
                          `Auto-advance held ${heldText(r.advanceHeldUntilHeard)}`,
                        )
                      : null,
                ),
                h("td", {}, `${r.currentWave + 1}: ${r.currentWaveName}`),
                h("td", {}, countsText({ ...r, version: r.release.version })),
                h("td", {}, when(r.created)),
              ),
            ),
          ),
    );
  }
  return view;
}
