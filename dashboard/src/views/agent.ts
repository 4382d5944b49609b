import { get, post, writeFailure } from "../api.js";
import { fill, h, link, setText, table } from "../dom.js";
import { ago, formatLabels, localTimes, shortId, when } from "../format.js";
import { newestOnly } from "../newest.js";
import type { AgentDetail, MergeReport, ReportStep } from "../types.js";
import { appState } from "./fleet.js";
import { olderControl } from "./older.js";
import type { View } from "./view.js";

function stepList(steps: ReportStep[]): HTMLElement {
  return h(
    "ol",
    { class: "steps" },
    ...steps.map((s) =>
      h(
        "li",
        { class: s.ok ? "ok" : "bad" },
        h("span", { class: "mark" }, s.ok ? "✓ ok" : "✗ failed"),
        " ",
        h("strong", {}, s.name),
        ` (${s.ms} ms)`,
        s.log ? h("details", {}, h("summary", {}, "log"), h("pre", {}, s.log)) : null,
      ),
    ),
  );
}

const MERGE_KINDS = ["updated", "added", "removed", "kept", "deleted"] as const;
const keysOf = (m: MergeReport, kind: (typeof MERGE_KINDS)[number]): string[] => m[kind] ?? [];

/** Each merged config file: counts per kind, what its form lost, and the keys behind a disclosure. */
function mergeList(merges: MergeReport[]): HTMLElement {
  return h(
    "ul",
    { class: "merges" },
    ...merges.map((m) =>
      h(
        "li",
        {},
        h("strong", {}, m.file),
        ` ${MERGE_KINDS.filter((kind) => kind !== "deleted" || m.deleted !== undefined)
          .map((kind) => `${keysOf(m, kind).length} ${kind}`)
          .join(", ")}`,
        ...(m.warnings ?? []).map((w) => h("p", { class: "form-error" }, `warning: ${w}`)),
        h(
          "details",
          {},
          h("summary", {}, "keys"),
          h(
            "pre",
            {},
            MERGE_KINDS.flatMap((kind) => keysOf(m, kind).map((key) => `${kind}: ${key}`)).join("\n"),
          ),
        ),
      ),
    ),
  );
}

/** The hub's default page of an agent's deployments, and the most it answers in one request. */
const DEPLOYMENTS_PAGE = 50;
const DEPLOYMENTS_MAX = 200;

/** One agent: its facts, deployments and recent reports with each step's log. */
export function agentView(id: string): View {
  const body = h("div");
  const reports = h("div");
  const older = olderControl("Older rollouts", "older-error", refresh);
  const check = h("button", { type: "button", class: "secondary", id: "check-now" }, "Check for updates now");
  const checked = h("p", { role: "status", id: "check-result" });
  check.addEventListener("click", async () => {
    try {
      const answer = await post<{ sent: boolean; relayed?: boolean; message?: string }>(
        `agents/${encodeURIComponent(id)}/check`,
      );
      // Relayed through another hub of a cluster: asked, not confirmed, and the page says so.
      setText(
        checked,
        answer.relayed
          ? `Relayed, not confirmed: ${answer.message ?? "another hub holds the agent's connection"}.`
          : "Asked the agent to check its sources now.",
      );
    } catch (error) {
      setText(
        checked,
        writeFailure(
          error,
          "Not sent",
          "Check for updates",
          "the agent's next report says whether it checked",
        ),
      );
    }
  });
  const view: View = {
    title: `Agent ${id}`,
    root: h(
      "section",
      {},
      h("p", {}, link("/fleet", "← Fleet")),
      h("h1", {}, `Agent ${id}`),
      h("div", { class: "actions" }, check),
      checked,
      body,
      // Outside the regions a redraw replaces: a keyboard user's focus stays on the button.
      older.root,
      reports,
    ),
    refresh,
  };
  // Which report <details> are open survives the poll's redraw.
  const open = new Set<string>();
  /** How many of the agent's deployments (newest first) the page shows; "Older rollouts" adds a page. */
  let shown = DEPLOYMENTS_PAGE;

  /**
   * The agent with its newest `count` deployments. The hub answers at most 200 a request: past
   * that, later requests read on from the `next` of the one before (a cursor: a deployment that
   * reports meanwhile keeps its place, so none is read twice or skipped, as by offset they were).
   */
  async function read(count: number): Promise<{ agent: AgentDetail; more: boolean }> {
    const path = `agents/${encodeURIComponent(id)}`;
    const agent = await get<AgentDetail>(`${path}?deployments_limit=${Math.min(count, DEPLOYMENTS_MAX)}`);
    let next = agent.deploymentsPage.next;
    while (next !== undefined && agent.deployments.length < count) {
      const limit = Math.min(count - agent.deployments.length, DEPLOYMENTS_MAX);
      const page = await get<AgentDetail>(
        `${path}?deployments_after=${encodeURIComponent(next)}&deployments_limit=${limit}&reports_limit=1`,
      );
      agent.deployments.push(...page.deployments);
      next = page.deploymentsPage.next;
    }
    return { agent, more: next !== undefined };
  }

  const turn = newestOnly();
  async function refresh(): Promise<void> {
    const isNewest = turn();
    const further = older.asked();
    const count = shown + (further ? DEPLOYMENTS_PAGE : 0);
    const found = await older.reading(isNewest, read(count));
    if (!isNewest()) return;
    const { agent, more } = found;
    shown = count;
    older.drawn(more);
    fill(
      body,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Status"),
        h("dd", {}, agent.online ? "● online" : "○ offline"),
        h("dt", {}, "Last seen"),
        h("dd", {}, `${when(agent.lastSeen)} (${ago(agent.lastSeen)})`),
        h("dt", {}, "Hostname"),
        h("dd", {}, agent.hostname),
        h("dt", {}, "Agent version"),
        h("dd", {}, agent.agentVersion),
        h("dt", {}, "Labels"),
        h("dd", {}, ...formatLabels(agent.labels).map((l) => h("span", { class: "chip" }, l))),
      ),
      h("h2", {}, "Apps"),
      table(
        ["App", "Version", "State"],
        agent.apps.map((a) =>
          h("tr", {}, h("td", {}, a.app), h("td", {}, a.version ?? "(none)"), h("td", {}, appState(a.state))),
        ),
      ),
      h("h2", {}, "Rollouts"),
      agent.deployments.length === 0
        ? h("p", { class: "empty" }, "Not part of any rollout.")
        : table(
            ["Rollout", "Wave", "State", "Error", "Warnings"],
            agent.deployments.map((d) =>
              h(
                "tr",
                {},
                h("td", {}, link(`/rollouts/${encodeURIComponent(d.rolloutId)}`, shortId(d.rolloutId))),
                h("td", {}, String(d.wave + 1)),
                h("td", {}, d.state),
                h("td", {}, localTimes(d.error ?? "")),
                h("td", {}, ...(d.warnings ?? []).map((w) => h("p", { class: "warning" }, localTimes(w)))),
              ),
            ),
          ),
    );
    fill(
      reports,
      h("h2", {}, "Recent reports"),
      agent.reports.length === 0
        ? h("p", { class: "empty" }, "No reports yet.")
        : h(
            "ul",
            { class: "reports" },
            ...agent.reports.map((r) => {
              const p = r.payload;
              const details = h(
                "details",
                { open: open.has(r.id) },
                h(
                  "summary",
                  {},
                  h("strong", {}, p.outcome ?? "?"),
                  ` ${p.app ?? ""} ${p.fromVersion ?? "–"} → ${p.toVersion ?? "–"}, ${when(r.receivedAt)}`,
                ),
                p.error ? h("p", { class: "form-error lines" }, p.error) : null,
                ...(p.warnings ?? []).map((w) => h("p", { class: "form-error" }, `warning: ${w}`)),
                stepList(p.steps ?? []),
                p.merges?.length ? mergeList(p.merges) : null,
              );
              details.addEventListener("toggle", () => (details.open ? open.add(r.id) : open.delete(r.id)));
              return h("li", {}, details);
            }),
          ),
    );
  }
  return view;
}
