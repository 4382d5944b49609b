import { describeError, get } from "../api.js";
import { fill, h, table } from "../dom.js";
import { when } from "../format.js";
import { newestOnly } from "../newest.js";
import type { AuditEvent } from "../types.js";
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

/** The audit log, newest first; polling refreshes the newest page, "Older" reads further back. */
export function eventsView(): View {
  const newest = h("div", { id: "events-table" });
  const older = h("div");
  const more = h("button", { type: "button", class: "secondary" }, "Older events");
  const problem = h("p", { class: "form-error", role: "alert", id: "older-error" });
  let next: number | null = null;
  let loadedOlder = false;
  /**
   * Once older pages are shown, the id the newest section reaches down to (the older pages start
   * just below it): newer events arriving push the newest page down, and the ones it no longer
   * holds must stay on screen, not fall into a gap above the older pages.
   */
  let floor: number | null = null;
  type Page = { events: AuditEvent[]; next: number | null };
  const view: View = {
    title: "Events",
    root: h("section", {}, h("h1", {}, "Events"), newest, older, h("div", { class: "pager" }, more, problem)),
    refresh,
  };
  const headers = ["When", "What", "Subject", "Who", "Details"];

  more.addEventListener("click", async () => {
    if (next === null) return;
    floor ??= next;
    // Until this page is in, a second click would fetch and append the same page again, and a
    // poll would move `next` (and enable the button) under it: both wait for it.
    loadedOlder = true;
    more.disabled = true;
    problem.textContent = "";
    try {
      const page = await get<Page>(`events?limit=${PAGE}&before=${next}`);
      older.append(table(headers, page.events.map(eventRow)));
      next = page.next;
    } catch (error) {
      // Said where the operator clicked; the button stays, to try again.
      problem.textContent = `Could not read older events: ${describeError(error)}`;
    } finally {
      more.disabled = next === null;
    }
  });

  /** The newest page; with older pages shown, every event down to `floor`, however many arrived. */
  async function newestEvents(): Promise<Page> {
    const page = await get<Page>(`events?limit=${PAGE}`);
    if (floor === null) return page;
    const events = [...page.events];
    let before = page.next;
    while (before !== null && before > floor) {
      const more = await get<Page>(`events?limit=${PAGE}&before=${before}`);
      events.push(...more.events);
      before = more.next;
    }
    const reach = floor;
    return { events: events.filter((e) => e.id >= reach), next: page.next };
  }

  const turn = newestOnly();
  async function refresh(): Promise<void> {
    const isNewest = turn();
    const page = await newestEvents();
    if (!isNewest()) return;
    fill(
      newest,
      page.events.length === 0
        ? h("p", { class: "empty" }, "Nothing has happened yet.")
        : table(headers, page.events.map(eventRow)),
    );
    if (!loadedOlder) {
      next = page.next;
      more.disabled = next === null;
    }
  }
  return view;
}
