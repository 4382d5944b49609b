import { get } from "../api.js";
import { fill, h, link, table } from "../dom.js";
import { ago, formatLabels } from "../format.js";
import type { Agent, AgentPage } from "../types.js";
import type { View } from "./view.js";

const PAGE_SIZE = 50;

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
        h(
          "div",
          {},
          h("strong", {}, a.app),
          " ",
          a.version ?? "(none)",
          " ",
          h("span", { class: "sub" }, a.state),
        ),
      ),
    ),
  );
}

/** Fleet: every agent, filtered and paged on the hub (it holds 10,000 as easily as 10). */
export function fleetView(): View {
  let offset = 0;
  const q = h("input", { type: "search", name: "q", id: "filter-q", placeholder: "id or hostname" });
  const label = select("label", "label", []);
  const app = select("app", "app", []);
  const version = select("version", "version", []);
  const state = select("state", "state", []);
  const status = select("status", "status", ["online", "offline"]);
  const summary = h("p", { class: "summary", id: "fleet-summary" });
  const rows = h("div", { id: "fleet-table" });
  const prev = h("button", { type: "button", class: "secondary" }, "← Previous");
  const next = h("button", { type: "button", class: "secondary" }, "Next →");
  const view: View = { title: "Fleet", root: h("section"), refresh };

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
    offset = 0;
    void refresh();
  };
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    restart();
  });
  for (const control of [label, app, version, state, status]) control.addEventListener("change", restart);
  q.addEventListener("input", restart);
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE_SIZE);
    void refresh();
  });
  next.addEventListener("click", () => {
    offset += PAGE_SIZE;
    void refresh();
  });
  view.root.append(h("h1", {}, "Fleet"), filters, summary, rows, h("div", { class: "pager" }, prev, next));

  async function refresh(): Promise<void> {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset), facets: "true" });
    for (const [key, control] of Object.entries({ q, label, app, version, state, status }))
      if (control.value) params.set(key, control.value);
    const page = await get<AgentPage>(`agents?${params}`);
    if (page.facets) {
      refill(
        label,
        "label",
        Object.entries(page.facets.labels).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)),
      );
      refill(app, "app", page.facets.apps);
      refill(version, "version", page.facets.versions);
      refill(state, "state", page.facets.states);
    }
    const first = page.total === 0 ? 0 : page.offset + 1;
    const last = page.offset + page.agents.length;
    summary.textContent =
      `${first}–${last} of ${page.total} agents (${page.online} online, ${page.total - page.online} offline)` +
      (page.total !== page.fleet ? `; ${page.fleet} in the fleet` : "");
    prev.disabled = page.offset === 0;
    next.disabled = last >= page.total;
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
