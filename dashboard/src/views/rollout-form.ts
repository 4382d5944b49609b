import { describeError, get, NoAnswer, post, writeFailure } from "../api.js";
import { fill, h, setText } from "../dom.js";
import { inFormTerms } from "../form-terms.js";
import { decimalNumber, numberProblem, parseLabels } from "../format.js";
import { newestOnly } from "../newest.js";
import { THRESHOLD_BASE } from "../rollout-rules.js";
import type { Preview, Release, RolloutDetail, RolloutSpec } from "../types.js";
import { newestReleases } from "./releases.js";
import type { View } from "./view.js";
import { type WaveRow, waveRow } from "./wave-row.js";

const PREVIEW_NAMES = 12;

function field(text: string, control: HTMLElement, hint?: string): HTMLElement {
  return h(
    "div",
    { class: "field" },
    h("label", { for: control.id }, text),
    control,
    hint ? h("small", { class: "hint" }, hint) : null,
  );
}

/**
 * New rollout. Every edit asks the hub for a preview of who lands in which wave; the preview's
 * rollout id is kept and sent on create, so the rollout starts with exactly the waves shown.
 */
export function rolloutFormView(releaseId?: string): View {
  const release = h("select", { id: "rollout-release", name: "release", required: true });
  const selector = h("input", {
    id: "rollout-selector",
    name: "selector",
    placeholder: "env=prod, region=eu",
  });
  const thresholdKind = h(
    "select",
    { id: "rollout-threshold-kind", name: "thresholdKind" },
    h("option", { value: "count" }, "failed agents"),
    // Of the agents it updates in the waves started so far, as the hub counts it: "enrolled" read
    // as the whole rollout, whose later waves do not count until they start.
    h("option", { value: "percent" }, `% ${THRESHOLD_BASE}`),
  );
  const threshold = h("input", {
    id: "rollout-threshold",
    name: "threshold",
    type: "number",
    min: 0,
    value: 1,
    step: "any",
  });
  const autoAdvance = h("input", { id: "rollout-auto-advance", name: "autoAdvance", type: "checkbox" });
  const autoRollback = h("input", { id: "rollout-auto-rollback", name: "autoRollback", type: "checkbox" });
  const waveList = h("ol", { class: "wave-rows", id: "wave-rows" });
  const rows: WaveRow[] = [];
  const addWave = h("button", { type: "button", class: "secondary", id: "add-wave" }, "Add wave");
  const preview = h("div", { id: "preview", "aria-live": "polite" });
  const message = h("p", { class: "form-error", role: "alert", id: "rollout-error" });
  const start = h("button", { type: "submit", id: "start-rollout" }, "Start rollout");
  let rolloutId: string | undefined;
  let loaded = false;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  /** The newest preview run: only its outcome is drawn (see runPreview). */
  const previewTurn = newestOnly();

  const form = h(
    "form",
    { class: "rollout-form", "aria-label": "New rollout" },
    field("Release", release),
    field(
      "Selector labels",
      selector,
      "Only agents with all these labels take part; empty means every agent with the app.",
    ),
    h("fieldset", {}, h("legend", {}, "Waves (in order)"), waveList, addWave),
    h(
      "fieldset",
      {},
      h("legend", {}, "Safety"),
      field(
        "Halt when failures reach",
        h("div", { class: "inline", id: "threshold-group" }, threshold, thresholdKind),
      ),
      h(
        "div",
        { class: "check" },
        autoAdvance,
        h("label", { for: autoAdvance.id }, "Advance waves automatically when they succeed"),
      ),
      h(
        "div",
        { class: "check" },
        autoRollback,
        h("label", { for: autoRollback.id }, "Roll updated agents back when the rollout halts"),
      ),
    ),
    h("h2", {}, "Preview"),
    preview,
    message,
    start,
  );
  // The threshold's own label points at the number input.
  form.querySelector('label[for="threshold-group"]')?.setAttribute("for", threshold.id);

  const add = (values?: Parameters<typeof waveRow>[1]) => {
    const row = waveRow(rows.length, values, (r) => {
      rows.splice(rows.indexOf(r), 1);
      r.element.remove();
      schedulePreview();
    });
    rows.push(row);
    waveList.append(row.element);
  };
  add({ name: "canary", kind: "percent", value: "5" });
  add({ name: "everyone", kind: "percent", value: "100" });
  addWave.addEventListener("click", () => {
    add();
    schedulePreview();
  });

  function spec(): RolloutSpec {
    if (!release.value) throw new Error("choose a release");
    const labels = parseLabels(selector.value);
    // Empty, it was 0 (which the hub refuses in its own terms); "1e1" was 10: the CLI's rule.
    const limit = decimalNumber(threshold.value);
    if (limit === undefined)
      throw new Error(`Halt when failures reach ${numberProblem(threshold.value, "must be a number")}`);
    return {
      ...(rolloutId ? { id: rolloutId } : {}),
      release: release.value,
      ...(Object.keys(labels).length > 0 ? { selector: { labels } } : {}),
      waves: rows.map((r) => r.spec()),
      failureThreshold: thresholdKind.value === "percent" ? { percent: limit } : { count: limit },
      autoAdvance: autoAdvance.checked,
      autoRollback: autoRollback.checked,
    };
  }

  /** The hub's message in the form's terms (its wave rows and labels, not `body.waves[0]`). */
  const said = (text: string, sent?: RolloutSpec) =>
    inFormTerms(
      text,
      rows.map(
        (r) => (r.element.querySelector('input[name="waveName"]') as HTMLInputElement | null)?.value ?? "",
      ),
      sent?.waves.map((w) => w.agents) ?? [],
      Object.keys(sent?.selector?.labels ?? {}),
    );

  async function runPreview(): Promise<void> {
    // Each edit, and each poll, runs a preview; their answers can come back in any order. An answer
    // to an older form that came late was drawn over the newer one: a field just made invalid
    // showed the waves of its last valid value, with Start enabled again.
    const isNewest = previewTurn();
    let body: RolloutSpec;
    try {
      body = spec();
    } catch (error) {
      fill(preview, h("p", { class: "form-error" }, describeError(error)));
      start.disabled = true;
      return;
    }
    try {
      const result = await post<Preview>("rollouts/preview", body);
      if (!isNewest()) return;
      rolloutId = result.rolloutId;
      // A rollout the hub would refuse (it holds nobody, or another of the app is active): no Start.
      const refused = result.nobody ?? result.busy;
      start.disabled = refused !== undefined;
      const warnings = (result.warnings ?? []).map((w) => `Warning: ${said(w)}`);
      setText(
        message,
        [...(refused === undefined ? [] : [`Cannot start: ${said(refused)}`]), ...warnings].join(" "),
      );
      fill(
        preview,
        h(
          "ol",
          { class: "preview-waves" },
          ...result.waves.map((w) =>
            h(
              "li",
              { "data-wave": w.index },
              h("strong", {}, w.name),
              `: ${w.agents.length} agent(s)`,
              w.agents.length > 0
                ? h(
                    "div",
                    { class: "sub" },
                    w.agents.slice(0, PREVIEW_NAMES).join(", "),
                    w.agents.length > PREVIEW_NAMES ? ` and ${w.agents.length - PREVIEW_NAMES} more` : "",
                  )
                : null,
            ),
          ),
        ),
        h(
          "p",
          { class: "sub", id: "preview-unassigned" },
          `${result.unassigned.length} eligible agent(s) in no wave.`,
        ),
      );
    } catch (error) {
      if (!isNewest()) return;
      start.disabled = true;
      fill(preview, h("p", { class: "form-error" }, said(describeError(error), body)));
    }
  }

  function schedulePreview(): void {
    clearTimeout(debounce);
    debounce = setTimeout(() => void runPreview(), 250);
  }
  form.addEventListener("input", schedulePreview);
  form.addEventListener("change", schedulePreview);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setText(message, "");
    let body: RolloutSpec | undefined;
    try {
      body = spec();
      const name = release.selectedOptions[0]?.textContent ?? body.release;
      if (!window.confirm(`Start rolling out ${name} in ${body.waves.length} wave(s)?`)) return;
      const created = await post<RolloutDetail>("rollouts", body);
      location.hash = `#/rollouts/${encodeURIComponent(created.id)}`;
    } catch (error) {
      // The answer was lost, not the request: the rollout may stand on the hub (under the preview's
      // id, which the create sent). Said "Not started", a second Start met "rollout … exists".
      const id = body?.id;
      if (error instanceof NoAnswer && id !== undefined) {
        const made = await get<RolloutDetail>(`rollouts/${encodeURIComponent(id)}`).catch(() => undefined);
        if (made !== undefined) {
          location.hash = `#/rollouts/${encodeURIComponent(made.id)}`;
          return;
        }
      }
      // A refusal in the form's own terms (`said`: "waves[0].percent" as the wave's name).
      setText(
        message,
        error instanceof NoAnswer
          ? writeFailure(error, "Not started", "Start", "see Rollouts before starting it again")
          : `Not started: ${said(describeError(error), body)}`,
      );
    }
  });

  async function refresh(): Promise<void> {
    if (!loaded) {
      const { releases } = await newestReleases();
      // A release older than the newest listed (found on the Releases page by app and version)
      // is fetched by its id, or it could never be chosen here.
      if (releaseId && !releases.some((r) => r.id === releaseId))
        releases.unshift(await get<Release>(`releases/${encodeURIComponent(releaseId)}`));
      fill(
        release,
        h("option", { value: "" }, "choose a release…"),
        ...releases.map((r) =>
          h("option", { value: r.id, selected: r.id === releaseId }, `${r.app} ${r.version}`),
        ),
      );
      loaded = true;
    }
    // Re-run the preview on each poll too: agents that connect meanwhile show up in it.
    await runPreview();
  }
  return { title: "New rollout", root: h("section", {}, h("h1", {}, "New rollout"), form), refresh };
}
