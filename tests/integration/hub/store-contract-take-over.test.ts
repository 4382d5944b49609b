/**
 * The take-over rule, branch by branch, on both stores: what the store counts set-based as
 * `rollbackable` (the rollout list, the engine's checks) must be what the engine's own rule
 * (`rollbackableOf` with `releasedFromTakeOver`: the rollout page, the rollback itself) says, or the
 * list offers abort with rollback where the rollout page and the rollback find nobody to send back.
 *
 * Each case: rollout ro1 (release r1, created at 10) updated a1 from r0; an earlier rollback of ro1
 * found a1 taken over by a later rollout of the app and marked it. The case sets the later rollouts,
 * their rows of a1 and what a1 says it runs now.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { rollbackableOf } from "../../../hub/rollouts/accounting.js";
import {
  ROLLBACK_IMPOSSIBLE,
  ROLLBACK_TAKEN_OVER,
  releasedFromTakeOver,
} from "../../../hub/rollouts/rollback-result.js";
import type { DeploymentState, RolloutState } from "../../../hub/rollouts/states.js";
import type { AsyncStore } from "../../../hub/store/async-store.js";
import {
  agent,
  deployment,
  type Opened,
  release,
  rollout,
  storeSubjects,
} from "./store-contract/subjects.js";

const { subjects, start, stop } = storeSubjects();
beforeAll(start, 60_000);
afterAll(stop);

interface Later {
  id: string;
  release: string;
  state: RolloutState;
  created: number;
  currentWave?: number;
  /** a1's row in it; none: it did not plan a1. */
  row?: { state: DeploymentState; attempts: number; wave?: number };
}

interface Case {
  name: string;
  later: Later[];
  /** The release a1 says it runs now (hello, last report). */
  runs: string;
  /** The marked row's previous release. */
  previous?: string | null;
  /** The marked row's state in ro1. */
  state?: DeploymentState;
  /** ro1's row's error, when not the take-over mark (a row no rollback marked, or one marked otherwise). */
  error?: string | null;
  expected: 0 | 1;
}

const ago = (n: number) => 10 + n;

const cases: Case[] = [
  {
    name: "a later running rollout's row due in its current wave holds a1, whatever it runs",
    later: [
      { id: "ro2", release: "r2", state: "running", created: ago(1), row: { state: "pending", attempts: 0 } },
    ],
    runs: "r1",
    expected: 0,
  },
  {
    name: "a later running rollout's row in a wave not reached holds nothing",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "running",
        created: ago(1),
        row: { state: "pending", attempts: 0, wave: 1 },
      },
    ],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a later paused rollout's unsent row holds nothing (not due while paused)",
    later: [
      { id: "ro2", release: "r2", state: "paused", created: ago(1), row: { state: "pending", attempts: 0 } },
    ],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a later running rollout's row timed out before it was sent, owed again in its wave, holds a1",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "running",
        created: ago(1),
        row: { state: "timed_out", attempts: 0 },
      },
    ],
    runs: "r1",
    expected: 0,
  },
  {
    name: "a later running rollout's sent row holds a1",
    later: [
      { id: "ro2", release: "r2", state: "running", created: ago(1), row: { state: "sent", attempts: 1 } },
    ],
    runs: "r1",
    expected: 0,
  },
  {
    name: "a later aborted rollout's row still under way (in progress) holds a1",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "aborted",
        created: ago(1),
        row: { state: "in_progress", attempts: 1 },
      },
    ],
    runs: "r1",
    expected: 0,
  },
  {
    name: "a later completed rollout's success, with a1 on the later release, holds a1",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "completed",
        created: ago(1),
        row: { state: "succeeded", attempts: 1 },
      },
    ],
    runs: "r2",
    expected: 0,
  },
  {
    name: "a later completed rollout's success, with a1 back on r1 since, holds nothing",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "completed",
        created: ago(1),
        row: { state: "succeeded", attempts: 1 },
      },
    ],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a later rollout found a1 on its release already (succeeded, never sent): a1 on r2 is held",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "completed",
        created: ago(1),
        row: { state: "succeeded", attempts: 0 },
      },
    ],
    runs: "r2",
    expected: 0,
  },
  {
    name: "a later rollout of the same release that updated a1 holds it, though a1 runs r1",
    later: [
      {
        id: "ro2",
        release: "r1",
        state: "completed",
        created: ago(1),
        row: { state: "succeeded", attempts: 1 },
      },
    ],
    runs: "r1",
    expected: 0,
  },
  {
    name: "a later aborted rollout that cancelled a1's row before sending holds nothing",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "aborted",
        created: ago(1),
        row: { state: "cancelled", attempts: 0 },
      },
    ],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a later aborted rollout whose update failed and its host restored r1 holds nothing",
    later: [
      { id: "ro2", release: "r2", state: "aborted", created: ago(1), row: { state: "failed", attempts: 1 } },
    ],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a later rollout that rolled a1 back holds nothing",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "aborted",
        created: ago(1),
        row: { state: "rolled_back", attempts: 1 },
      },
    ],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a later rollout's rollback of a1 still owed holds it",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "aborted",
        created: ago(1),
        row: { state: "rollback_pending", attempts: 1 },
      },
    ],
    runs: "r1",
    expected: 0,
  },
  {
    name: "a later rollout's rollback of a1 timed out (still owed) holds it",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "failed",
        created: ago(1),
        row: { state: "rollback_timed_out", attempts: 1 },
      },
    ],
    runs: "r1",
    expected: 0,
  },
  {
    name: "taken over twice: the second take-over, still under way, holds a1 though the first ended",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "aborted",
        created: ago(1),
        row: { state: "rolled_back", attempts: 1 },
      },
      {
        id: "ro3",
        release: "r3",
        state: "running",
        created: ago(2),
        row: { state: "in_progress", attempts: 1 },
      },
    ],
    runs: "r1",
    expected: 0,
  },
  {
    name: "taken over twice, both ended with a1 back on r1: released",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "aborted",
        created: ago(1),
        row: { state: "rolled_back", attempts: 1 },
      },
      { id: "ro3", release: "r3", state: "aborted", created: ago(2), row: { state: "failed", attempts: 1 } },
    ],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a rollback of a rollback: a later rollout of r0 (ro1's previous) rolled back to r1 holds nothing",
    later: [
      {
        id: "ro2",
        release: "r0",
        state: "aborted",
        created: ago(1),
        row: { state: "rolled_back", attempts: 1 },
      },
    ],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a rollback of a rollback: a later rollout of r0 that took a1 to r0 holds it",
    later: [
      {
        id: "ro2",
        release: "r0",
        state: "completed",
        created: ago(1),
        row: { state: "succeeded", attempts: 1 },
      },
    ],
    runs: "r0",
    expected: 0,
  },
  {
    name: "a rollout created before ro1 holds nothing, though under way",
    later: [{ id: "ro0", release: "r2", state: "running", created: 5, row: { state: "sent", attempts: 1 } }],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a rollout created in the same millisecond is not later",
    later: [{ id: "ro2", release: "r2", state: "running", created: 10, row: { state: "sent", attempts: 1 } }],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a running rollout of another app holds nothing of web's",
    later: [
      { id: "ro2", release: "api1", state: "running", created: ago(1), row: { state: "sent", attempts: 1 } },
    ],
    runs: "r1",
    expected: 1,
  },
  {
    name: "a later rollout that never planned a1 holds nothing",
    later: [{ id: "ro2", release: "r2", state: "running", created: ago(1) }],
    runs: "r1",
    expected: 1,
  },
  {
    name: "no later rollout, but a1 does not run r1: not released",
    later: [],
    runs: "r2",
    expected: 0,
  },
  {
    name: "released, with no previous release known: the rollback acts on it (says it cannot send it back)",
    later: [
      {
        id: "ro2",
        release: "r2",
        state: "aborted",
        created: ago(1),
        row: { state: "rolled_back", attempts: 1 },
      },
    ],
    runs: "r1",
    previous: null,
    expected: 1,
  },
  {
    name: "a marked row timed out before it was ever sent: nothing to take back",
    later: [],
    runs: "r1",
    state: "timed_out",
    expected: 0,
  },
  {
    name: "not marked: a row sent back to a known previous release is acted on, a later rollout or not",
    later: [
      { id: "ro2", release: "r2", state: "running", created: ago(1), row: { state: "sent", attempts: 1 } },
    ],
    runs: "r2",
    error: null,
    expected: 1,
  },
  {
    name: "not marked, no previous release known and not yet said: the rollback acts on it (says so once)",
    later: [],
    runs: "r1",
    previous: null,
    error: null,
    expected: 1,
  },
  {
    name: "not marked, no previous release known and already said: nothing new to do",
    later: [],
    runs: "r1",
    previous: null,
    error: `${ROLLBACK_IMPOSSIBLE}: the hub has no release of the version it ran before`,
    expected: 0,
  },
  {
    name: "not marked, a known previous release and an earlier impossible note: sent back",
    later: [],
    runs: "r1",
    error: `${ROLLBACK_IMPOSSIBLE}: the hub has no release of the version it ran before`,
    expected: 1,
  },
  {
    name: "not marked, timed out before it was ever sent: nothing to take back",
    later: [],
    runs: "r1",
    state: "timed_out",
    error: null,
    expected: 0,
  },
];

async function seedCase(store: AsyncStore, c: Case): Promise<void> {
  for (const id of ["r0", "r1", "r2", "r3"]) await store.insertRelease(release(id));
  await store.insertRelease(release("api1", "api", "1"));
  await store.insertRollout({ ...rollout("ro1", "r1", "aborted"), created: 10 });
  for (const l of c.later)
    await store.insertRollout({
      ...rollout(l.id, l.release, l.state),
      created: l.created,
      currentWave: l.currentWave ?? 0,
    });
  await store.upsertAgent({
    ...agent("a1"),
    apps: [
      { app: "web", version: "1", state: "succeeded", releaseId: c.runs },
      { app: "api", version: "1", state: "succeeded", releaseId: "api1" },
    ],
  });
  await store.insertDeployments([
    {
      ...deployment("ro1", "a1", 0, "sent"),
      state: c.state ?? "succeeded",
      attempts: c.state === "timed_out" ? 0 : 1,
      previousRelease: c.previous === undefined ? "r0" : c.previous,
      error: c.error === undefined ? `${ROLLBACK_TAKEN_OVER} (ro2) took this agent over` : c.error,
    },
    ...c.later.flatMap((l) =>
      l.row === undefined
        ? []
        : [
            {
              ...deployment(l.id, "a1", l.row.wave ?? 0, "sent"),
              desiredRelease: l.release,
              state: l.row.state,
              attempts: l.row.attempts,
            },
          ],
    ),
  ]);
}

for (const subject of subjects) {
  describe.skipIf(!subject.available)(`take-over rule: ${subject.name}`, () => {
    let opened: Opened;
    let store: AsyncStore;
    beforeEach(async () => {
      opened = await subject.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });

    it.each(cases)("$name", async (c) => {
      await seedCase(store, c);
      const counted = (await store.countDeploymentsOfRollout("ro1")).reduce((n, r) => n + r.rollbackable, 0);
      const ro1 = await store.getRollout("ro1");
      if (ro1 === undefined) throw new Error("ro1 not stored");
      const deployments = await store.listDeployments({ rolloutId: "ro1" });
      const engine = rollbackableOf(deployments, await releasedFromTakeOver(store, ro1, deployments));
      expect({ counted, engine }).toEqual({ counted: c.expected, engine: c.expected });
    });
  });
}
