import { get } from "../api.js";
import { fill, h, link, setText, table } from "../dom.js";
import { ago, formatLabels, when } from "../format.js";
import { newestOnly } from "../newest.js";
import type { Agent, AgentPage } from "../types.js";
import type { View } from "./view.js";

const PAGE_SIZE = 50;
/**
 * How often the fleet page asks for the filters' options (`facets`) again. They are of the whole
 * fleet, filters and page aside, and change when an agent joins or is relabelled; every redraw
 * asked for them — during a rollout the live stream redraws once a second, and at 10,000 agents
 * labelled per host they are ~224 KB of each answer, read and sent by the hub each time.
 */
const FACETS_MS = 20_000;

function select(name: string, label: string, options: string[]): HTMLSelectElement {
  const el = h("select", { name, id: `filter-${name}` }, h("option", { value: "" }, `any ${label}`));
  for (const o of options) el.append(h("option", { value: o }, o));
  return el;
}

/** Keeps the operator's choice when the options are rebuilt from fresh facets. */
function refill(el: HTMLSelectElement, label: string, options: string[]): void {
  const chosen = el.value;
  const values = chosen && !options.includes(chosen) ? [chosen, ...options] : options;
  if (
    [...el.options]
      .slice(1)
      .map((o) => o.value)
      .join("\n") === values.join("\n")
  )
    return;
  fill(el, h("option", { value: "" }, `any ${label}`), ...values.map((o) => h("option", { value: o }, o)));
  el.value = chosen;
}

/**
 * A facet filter whose options are drawn when an operator reaches for it (focus, a pointer press
 * before the list opens), not at each read: a fleet labelled per host (rack=r1 … r10000) sent
 * 20,000 label values, and drawing them as options took the browser 0.6–1.5 s of its main thread
 * on every first page. `set` takes the newest values; a filter in use is redrawn at once.
 */
function facetFilter(el: HTMLSelectElement, label: string): (options: string[]) => void {
  let latest: string[] = [];
  const draw = () => refill(el, label, latest);
  el.addEventListener("focus", draw);
  el.addEventListener("pointerdown", draw);
  return (options) => {
    latest = options;
    if (document.activeElement === el) draw();
  };
}

function agentRow(agent: Agent): HTMLTableRowElement {
  return h(
    "tr",
    {},
    h(
      "td",
      {},
      link(`/agents/${encodeURIComponent(agent.id)}`, agent.id),
      h("div", { class: "sub" }, agent.hostname),
    ),
    h(
      "td",
      {},
      h("span", { class: `pill ${agent.online ? "ok" : "off"}` }, agent.online ? "● online" : "○ offline"),
    ),
    h("td", { title: agent.lastSeen }, ago(agent.lastSeen)),
    h("td", {}, ...formatLabels(agent.labels).map((l) => h("span", { class: "chip" }, l))),
    h(
      "td",
      {},
      ...agent.apps.map((a) =>
        h("div", {}, h("strong", {}, a.app), " ", a.version ?? "(none)", " ", appState(a.state)),
      ),
    ),
  );
}

/**
 * A failed update reads as one, in red, whatever the app was left on; other states stay quiet.
 * `failed_restored` is a failed update its host undid by itself; `rolled_back` is a rollback an
 * operator asked for (the hub's abort with rollback, `ship --rollback`), which did what was asked.
 */
const FAILED_STATES: Record<string, string> = {
  failed_restored: "update failed, rolled back by the host",
  failed: "update failed",
  failed_unchanged: "update failed",
  // The new release stays in place, failing its checks (auto_rollback_on did not cover the failure).
  failed_not_rolled_back: "update failed, NOT rolled back",
  restore_failed: "update failed, restore FAILED",
  manual_intervention_required: "needs a person",
};

const QUIET_STATES: Record<string, string> = {
  rolled_back: "↺ rolled back on request",
};

export function appState(state: string): HTMLElement {
  const failed = FAILED_STATES[state];
  return failed
    ? h("span", { class: "state-bad", title: state }, `✗ ${failed}`)
    : h("span", { class: "sub", title: state }, QUIET_STATES[state] ?? state);
}

interface Attention {
  refused: { agentId: string; reason: string; signed: boolean; lastAt: string; count: number }[];
  /** In a cluster: the refusals are those of the hub that answered, not the fleet's. */
  refusedScope?: "this hub";
  expiringTokens: { agentId: string; expires: string; expired: boolean }[];
}

/** Agents that cannot connect, and agent tokens that run out soon: shown above everything else. */
function attentionPanel(needs: Attention): HTMLElement | null {
  if (needs.refused.length === 0 && needs.expiringTokens.length === 0) return null;
  return h(
    "div",
    { class: "attention", role: "alert" },
    needs.refused.length > 0
      ? h(
          "strong",
          {},
          needs.refusedScope === "this hub"
            ? "Agents the hub that answered refused (each hub of the cluster keeps its own list)"
            : "Agents the hub refused",
        )
      : null,
    needs.refused.length > 0
      ? h(
          "ul",
          { id: "refused-agents" },
          ...needs.refused.map((r) =>
            h(
              "li",
              {},
              h("code", {}, r.agentId),
              `: ${r.reason} (${r.count}×, last ${ago(r.lastAt)}${r.signed ? "" : "; the id is only claimed: this hub did not sign that token"})`,
            ),
          ),
        )
      : null,
    needs.expiringTokens.length > 0 ? h("strong", {}, "Agent tokens expiring soon") : null,
    needs.expiringTokens.length > 0
      ? h(
          "ul",
          { id: "expiring-tokens" },
          ...needs.expiringTokens.map((t) =>
            h(
              "li",
              {},
              h("code", {}, t.agentId),
              t.expired ? `: expired ${when(t.expires)}` : `: expires ${when(t.expires)}`,
            ),
          ),
        )
      : null,
  );
}

/**
 * Fleet: every agent, filtered and paged on the hub (it holds 10,000 as easily as 10). Pages start
 * after an agent id (the hub's `next`), not at an offset: an agent joining, leaving or ceasing to
 * match before the page an operator was on moved every later row by one, so Next showed the last
 * row of the page read again (or never showed the first of the next).
 */
export function fleetView(): View {
  /**
   * Where the page shown is: after an agent (Next), before one (Previous: the agents just before the
   * first row it left), or the first page. Previous went back to where the page before had started:
   * agents that joined before it since pushed its last rows off, a gap between it and the page left.
   */
  let cursor: { after: string } | { before: string } | undefined;
  let nextStart: string | undefined;
  let firstShown: string | undefined;
  /** When the options were last asked for (`FACETS_MS`), and when those drawn were. */
  let facetsAsked = Number.NEGATIVE_INFINITY;
  let facetsDrawn = Number.NEGATIVE_INFINITY;
  const q = h("input", { type: "search", name: "q", id: "filter-q", placeholder: "id or hostname" });
  const label = select("label", "label", []);
  const app = select("app", "app", []);
  const version = select("version", "version", []);
  const state = select("state", "state", []);
  const status = select("status", "status", ["online", "offline"]);
  const labelOptions = facetFilter(label, "label");
  const appOptions = facetFilter(app, "app");
  const versionOptions = facetFilter(version, "version");
  const stateOptions = facetFilter(state, "state");
  const summary = h("p", { class: "summary", id: "fleet-summary" });
  const rows = h("div", { id: "fleet-table" });
  const attention = h("div", { id: "fleet-attention", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "secondary" }, "← Previous");
  const next = h("button", { type: "button", class: "secondary" }, "Next →");
  const view: View = { title: "Fleet", root: h("section"), refresh };
  const turn = newestOnly();

  const field = (text: string, control: HTMLElement) =>
    h("div", { class: "field" }, h("label", { for: control.id }, text), control);
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter agents" },
    field("Search", q),
    field("Label", label),
    field("App", app),
    field("Version", version),
    field("App state", state),
    field("Status", status),
  );
  const restart = () => {
    cursor = undefined;
    void refresh();
  };
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    restart();
  });
  for (const control of [label, app, version, state, status]) control.addEventListener("change", restart);
  q.addEventListener("input", restart);
  prev.addEventListener("click", () => {
    if (firstShown === undefined) return;
    cursor = { before: firstShown };
    void refresh();
  });
  next.addEventListener("click", () => {
    if (nextStart === undefined) return;
    cursor = { after: nextStart };
    void refresh();
  });
  view.root.append(
    h("h1", {}, "Fleet"),
    attention,
    filters,
    summary,
    rows,
    h("div", { class: "pager" }, prev, next),
  );

  async function refresh(): Promise<void> {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const asked = performance.now();
    const withFacets = asked - facetsAsked >= FACETS_MS;
    if (withFacets) {
      params.set("facets", "true");
      facetsAsked = asked;
    }
    if (cursor !== undefined && "after" in cursor) params.set("after", cursor.after);
    else if (cursor !== undefined) params.set("before", cursor.before);
    // A search of spaces is no filter: the hub refuses a blank parameter (400) rather than match nobody.
    for (const [key, control] of Object.entries({ q, label, app, version, state, status }))
      if (control.value.trim()) params.set(key, control.value.trim());
    const isNewest = turn();
    const [page, needs] = await Promise.all([
      get<AgentPage>(`agents?${params}`),
      get<Attention>("agents/attention"),
    ]).catch((error: unknown) => {
      // Not had: the next redraw asks again.
      if (withFacets && facetsAsked === asked) facetsAsked = Number.NEGATIVE_INFINITY;
      throw error;
    });
    // The options are the whole fleet's, whatever the filters and page: drawn from an answer a
    // newer one overtook too (a filter chosen at once), or the newer, without them, left none.
    if (page.facets && asked > facetsDrawn) {
      facetsDrawn = asked;
      labelOptions(Object.entries(page.facets.labels).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)));
      appOptions(page.facets.apps);
      versionOptions(page.facets.versions);
      stateOptions(page.facets.states);
    }
    if (!isNewest()) return;
    // Past the end (fewer agents match than when this page was opened: they went offline, changed
    // state, were removed; or Next was clicked twice): the last page that holds them, not "No agent
    // matches." over a count that says they do; none before it either, the first page.
    if (page.agents.length === 0 && page.total > 0 && cursor !== undefined) {
      cursor = "after" in cursor ? { before: cursor.after } : undefined;
      return refresh();
    }
    nextStart = page.next;
    firstShown = page.agents[0]?.id;
    fill(attention, attentionPanel(needs));
    const first = page.total === 0 ? 0 : page.offset + 1;
    const last = page.offset + page.agents.length;
    setText(
      summary,
      `${first}–${last} of ${page.total} agents (${page.online} online, ${page.total - page.online} offline)` +
        (page.total !== page.fleet ? `; ${page.fleet} in the fleet` : ""),
    );
    prev.disabled = page.offset === 0;
    next.disabled = page.next === undefined;
    fill(
      rows,
      page.agents.length === 0
        ? h("p", { class: "empty" }, "No agent matches.")
        : table(
            ["Agent", "Status", "Last seen", "Labels", "Apps (version, state)"],
            page.agents.map(agentRow),
          ),
    );
  }
  return view;
}
