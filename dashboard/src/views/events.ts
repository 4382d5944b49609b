import { get } from "../api.js";
import { fill, h, table } from "../dom.js";
import { when } from "../format.js";
import { newestOnly } from "../newest.js";
import type { AuditEvent } from "../types.js";
import { olderControl, readDown } from "./older.js";
import type { View } from "./view.js";

const PAGE = 100;

/** `key: value` lines instead of raw JSON: nested values stay compact JSON on their line. */
function details(data: unknown): HTMLElement | string {
  if (data === null || typeof data !== "object") return data === undefined ? "" : String(data);
  const entries = Object.entries(data as Record<string, unknown>).filter(
    ([, v]) => v !== undefined && v !== null,
  );
  if (entries.length === 0) return "";
  return h(
    "dl",
    { class: "data" },
    ...entries.flatMap(([k, v]) => [
      h("dt", {}, k),
      h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v)),
    ]),
  );
}

function eventRow(e: AuditEvent): HTMLTableRowElement {
  const bad =
    /failed|timed_out|halted|rollback_impossible|rollback_overtaken|wave_empty|wave_untested|aborted/.test(
      e.kind,
    );
  return h(
    "tr",
    {},
    h("td", {}, when(e.at)),
    h("td", {}, bad ? h("strong", { class: "bad-text" }, e.kind) : e.kind),
    h("td", {}, h("code", {}, e.subject)),
    h("td", {}, e.actor),
    h("td", {}, details(e.data)),
  );
}

/** The audit log, newest first; polling refreshes it, "Older events" reads further back. */
export function eventsView(): View {
  const list = h("div", { id: "events-table" });
  const older = olderControl("Older events", "older-error", refresh);
  /**
   * Once older pages are shown, the id of the oldest event shown: every read reaches down to it,
   * so events that arrive push the list down and none falls into a gap between the pages.
   */
  let floor: number | null = null;
  const view: View = {
    title: "Events",
    root: h("section", {}, h("h1", {}, "Events"), list, older.root),
    refresh,
  };
  const headers = ["When", "What", "Subject", "Who", "Details"];

  /** Every event down to `floor`; with `further`, one page past it. `next`: the events below id. */
  function read(further: boolean) {
    const reach = floor;
    return readDown<AuditEvent, number>(
      async (before) => {
        const page = await get<{ events: AuditEvent[]; next: number | null }>(
          `events?limit=${PAGE}${before === undefined ? "" : `&before=${before}`}`,
        );
        return { rows: page.events, next: page.next ?? undefined };
      },
      reach === null ? null : { above: (next) => next > reach, shows: (e) => e.id >= reach },
      further,
    );
  }

  const turn = newestOnly();
  async function refresh(): Promise<void> {
    const isNewest = turn();
    const further = older.asked();
    const { rows: events, more } = await older.reading(isNewest, read(further));
    if (!isNewest()) return;
    const last = events.at(-1);
    if (further && last) floor = last.id;
    older.drawn(more);
    fill(
      list,
      events.length === 0
        ? h("p", { class: "empty" }, "Nothing has happened yet.")
        : table(headers, events.map(eventRow)),
    );
  }
  return view;
}
