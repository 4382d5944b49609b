import { get, post, writeFailure } from "../api.js";
import { fill, h, link, setText, table } from "../dom.js";
import { heldText, localTimes, reasonAfterState, selectorText, waveRule, when } from "../format.js";
import { newestOnly } from "../newest.js";
import { policyText, thresholdCountedText, waveCountedText, wavePassRule } from "../rollout-rules.js";
import type { RolloutAction, RolloutDetail } from "../types.js";
import type { View } from "./view.js";
import { waveProgress } from "./wave-progress.js";

type Action = RolloutAction;

const questions: Record<Action, string> = {
  advance: "Start the next wave now? Its agents begin updating at once.",
  pause: "Pause this rollout? Agents already updating finish; no new ones start.",
  resume: "Resume this rollout?",
  // Agents already sent the release are not called back: they finish, as on pause.
  abort:
    "Abort this rollout? Agents already updating finish; those not yet sent the release stay on their current one.",
  "abort-rollback": "Abort this rollout AND send every agent it updated back to its previous release?",
};

/** An agent owed a rollback while it is away: nothing has reached its host yet (as `rollout show` says). */
const OFFLINE_ROLLBACK = "offline: its rollback instruction goes out when it reconnects";

/** A rollout: each wave's progress bar and agents, and the operator's buttons (each confirmed). */
export function rolloutDetailView(id: string): View {
  const heading = h("h1", {}, "Rollout");
  const facts = h("div");
  const waves = h("ol", { class: "waves", id: "waves" });
  const message = h("p", { class: "form-error", role: "alert" });
  const buttons = {
    advance: h("button", { type: "button", "data-action": "advance" }, "Advance to next wave"),
    pause: h("button", { type: "button", "data-action": "pause", class: "secondary" }, "Pause"),
    resume: h("button", { type: "button", "data-action": "resume" }, "Resume"),
    abort: h("button", { type: "button", "data-action": "abort", class: "danger" }, "Abort"),
    "abort-rollback": h(
      "button",
      { type: "button", "data-action": "abort-rollback", class: "danger" },
      "Abort and roll back",
    ),
  } satisfies Record<Action, HTMLButtonElement>;
  const view: View = {
    title: "Rollout",
    root: h(
      "section",
      { class: "rollout" },
      h("p", {}, link("/rollouts", "← Rollouts")),
      heading,
      facts,
      h(
        "div",
        { class: "actions", role: "group", "aria-label": "Rollout actions" },
        ...Object.values(buttons),
      ),
      message,
      h("h2", {}, "Waves"),
      waves,
    ),
    refresh,
  };
  const path = `rollouts/${encodeURIComponent(id)}`;
  const openWaves = new Set<number>();
  // The wave this page shows. Advance names it (`fromWave`), so a click confirmed after the rollout
  // moved on (auto-advance, another operator) is refused with 409 instead of starting the wave
  // after one nobody looked at.
  let shownWave: number | undefined;
  const turn = newestOnly();

  // Resuming after a halt accepts the failures so far (only new ones count toward the threshold);
  // after a pause by hand they go on counting: the operator is told which, and how many, before
  // saying yes, not left to read it in the README.
  let failedSoFar = 0;
  // Halted on its threshold (the hub's `halted`; an older hub that sends none accepted on any resume).
  let halted = true;
  // Failures an earlier halt's resume accepted (`counted.accepted`): they stay accepted.
  let acceptedBefore = 0;
  // Of those, the failures of waves not started yet (hosts planned failed, broken on the release
  // already): a resume does not accept them, they count when their wave starts.
  let failedLater = 0;
  const question = (action: Action): string => {
    const accepted = failedSoFar - failedLater;
    if (action !== "resume" || failedSoFar === 0) return questions[action];
    return [
      accepted > 0
        ? halted
          ? `Resume this rollout? Its ${accepted} failure(s) so far are accepted: only failures from now on count toward its threshold.`
          : `Resume this rollout? Its ${accepted - acceptedBefore} failure(s) so far still count toward its threshold: it was paused, not halted on it, and a resume accepts failures only after a halt.`
        : questions.resume,
      ...(failedLater > 0
        ? [
            `${failedLater} failure(s) in waves not started yet are not accepted: they count toward it when their wave starts.`,
          ]
        : []),
    ].join(" ");
  };

  for (const [action, button] of Object.entries(buttons) as [Action, HTMLButtonElement][]) {
    button.addEventListener("click", async () => {
      if (!window.confirm(question(action))) return;
      setText(message, "");
      try {
        // Taken before the call: a read already on its way holds the state before this action.
        const isNewest = turn();
        const result =
          action === "abort-rollback"
            ? await post<RolloutDetail & { warnings?: string[] }>(`${path}/abort`, {
                rollback: true,
                fromWave: shownWave,
              })
            : action === "resume"
              ? // Accepts the failures the question named; more since then are a 409, shown below.
                await post<RolloutDetail & { warnings?: string[] }>(`${path}/resume`, {
                  failedSeen: failedSoFar,
                })
              : action === "advance" || action === "pause" || action === "abort"
                ? await post<RolloutDetail & { warnings?: string[] }>(`${path}/${action}`, {
                    fromWave: shownWave,
                  })
                : await post<RolloutDetail & { warnings?: string[] }>(`${path}/${action}`);
        if (isNewest()) show(result);
        // A pause or abort that landed after the rollout left the wave shown: which wave it
        // stopped, and that its agents already had the release.
        setText(message, (result.warnings ?? []).map((w) => `Warning: ${localTimes(w)}`).join(" "));
      } catch (error) {
        setText(
          message,
          writeFailure(error, `${action} refused`, action, "this page shows what the hub holds now"),
        );
        // Show what the hub holds now (the wave it moved to, or the action carried out whose answer
        // was lost), so the next click is an informed one.
        await refresh().catch(() => {});
      }
    });
  }

  function show(r: RolloutDetail): void {
    setText(heading, `Rollout of ${r.release.app} ${r.release.version}`);
    shownWave = r.currentWave;
    failedSoFar = r.progress.failed;
    halted = r.halted ?? true;
    acceptedBefore = r.counted.accepted ?? 0;
    halted = r.halted ?? true;
    failedLater = r.waves.filter((w) => w.index > r.currentWave).reduce((n, w) => n + w.progress.failed, 0);
    // The hub says which actions its state machine allows now; the last wave cannot advance.
    for (const [action, button] of Object.entries(buttons) as [Action, HTMLButtonElement][])
      button.disabled = !r.actions.includes(action);
    if (r.currentWave >= r.waves.length - 1) buttons.advance.disabled = true;
    fill(
      facts,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "State"),
        h(
          "dd",
          {},
          h("span", { class: `pill state-${r.state}`, id: "rollout-state" }, r.state),
          reasonAfterState(r.state, r.reason),
          r.notRolledBack.length > 0
            ? h(
                "div",
                { class: "attention", id: "not-rolled-back", role: "alert" },
                // Why differs per agent (no previous release known, or a later rollout took it
                // over): each one's error in the wave table says which.
                `✗ Not rolled back: ${r.notRolledBack.length} agent(s) (see each one's error below): ${r.notRolledBack.join(", ")}`,
              )
            : null,
        ),
        h("dt", {}, "Current wave"),
        h(
          "dd",
          {},
          `${r.currentWave + 1} of ${r.waves.length}: ${r.currentWaveName}`,
          r.autoAdvanceAt ? ` — advances by itself once finished, not before ${when(r.autoAdvanceAt)}` : "",
          r.advanceHeldUntilHeard
            ? h("div", { class: "sub", id: "advance-held" }, `Held ${heldText(r.advanceHeldUntilHeard)}`)
            : null,
        ),
        // Who the rollout is for: the page showed waves leaving hosts out, and no reason.
        h("dt", {}, "Selector"),
        h("dd", {}, selectorText(r.spec.selector?.labels, r.release.app)),
        h("dt", {}, "Policy"),
        h("dd", {}, policyText(r.spec)),
        // The figures the threshold is judged by, as `rollout show`'s counted line.
        h("dt", {}, "Counted"),
        h("dd", { id: "threshold-counted" }, thresholdCountedText(r.counted, r.release.version)),
        h("dt", {}, "Created"),
        h("dd", {}, when(r.created)),
        h("dt", {}, "Id"),
        h("dd", {}, h("code", {}, r.id)),
      ),
    );
    fill(
      waves,
      ...r.waves.map((w) => {
        const details = h(
          "details",
          { open: openWaves.has(w.index) },
          h("summary", {}, `${w.agents.length} agent(s)`),
          table(
            ["Agent", "State", "Online", "Attempts", "Error", "Warnings"],
            w.agents.map((a) =>
              h(
                "tr",
                {},
                h("td", {}, link(`/agents/${encodeURIComponent(a.agentId)}`, a.agentId)),
                h("td", {}, a.state),
                h("td", {}, a.online ? "● online" : "○ offline"),
                // As `rollout show` says it: runs of the update the agent started.
                h("td", { class: "attempts" }, String(a.attempts)),
                h(
                  "td",
                  {},
                  (a.error === null ? null : localTimes(a.error)) ??
                    (a.offlineFailsAt !== undefined
                      ? `offline: counts as failed at ${when(a.offlineFailsAt)}`
                      : a.rollbackOwed && !a.online
                        ? OFFLINE_ROLLBACK
                        : ""),
                ),
                h("td", {}, ...(a.warnings ?? []).map((w) => h("p", { class: "warning" }, localTimes(w)))),
              ),
            ),
          ),
        );
        details.addEventListener("toggle", () =>
          details.open ? openWaves.add(w.index) : openWaves.delete(w.index),
        );
        const pass = wavePassRule(r.spec.waves[w.index], r.spec.autoAdvance, w.index === r.waves.length - 1);
        return h(
          "li",
          { class: `wave wave-${w.status}`, "data-wave": w.index },
          h(
            "h3",
            {},
            `${w.index + 1}. ${w.name} `,
            h("span", { class: "sub" }, `(${w.status}; ${waveRule(r.spec.waves[w.index])})`),
          ),
          pass ? h("p", { class: "sub wave-pass" }, pass) : null,
          w.agents.length > 0
            ? h("p", { class: "sub wave-counted" }, waveCountedText(w.counted, r.release.version))
            : null,
          waveProgress({ ...w, alreadyOn: w.counted.alreadyOn, version: r.release.version }),
          details,
        );
      }),
    );
  }

  async function refresh(): Promise<void> {
    const isNewest = turn();
    const detail = await get<RolloutDetail>(path);
    if (isNewest()) show(detail);
  }
  return view;
}
