/**
 * Who a rollout is for: `ship-hub rollout show` and `rollout create` printed the release, the state
 * and the waves, never the selector, so an operator saw hosts left out of every wave and no reason
 * (the selector was only in --json's spec). The detail now has a `selector` line: the pairs, a pair
 * holding a space, comma, quote or backslash quoted as `--selector` would be typed, or `none`.
 * Real hub (in process), agents over a real WebSocket, the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import { hubWithLabelledAgents, type LabelledHub } from "./support.js";

describe("the rollout detail names its selector", () => {
  let hub: LabelledHub;
  let release = "";
  const cli = (...args: string[]) => hub.cli(...args);

  beforeAll(async () => {
    requireHubBin();
    hub = await hubWithLabelledAgents([
      { id: "m1", labels: { ring: "main", zone: 'rack "b", row 2' } },
      { id: "c1", labels: { ring: "canary" } },
    ]);
    release = hub.release;
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it("create and show print the selector's pairs, quoted where a pair needs it", async () => {
    const created = await cli(
      "rollout",
      "create",
      "--release",
      release,
      "--selector",
      "ring=main",
      "--selector",
      'zone=rack "b", row 2',
    );
    expect(created.code, created.stderr).toBe(0);
    const id = /^rollout +(\S+)/m.exec(created.stdout)?.[1] ?? "";
    try {
      expect(created.stdout).toMatch(/^selector ring=main, "zone=rack \\"b\\", row 2"$/m);
      const shown = await cli("rollout", "show", id);
      expect(shown.stdout).toMatch(/^selector ring=main, "zone=rack \\"b\\", row 2"$/m);
      expect(shown.stdout).toMatch(/^wave 1 all \[active\]/m);
      // As a word: the rollout's id is a UUID, whose hex may hold "c1" anywhere.
      expect(shown.stdout).not.toMatch(/(^|\s)c1(\s|$)/m);
      expect(shown.stdout).toMatch(/(^|\s)m1(\s|$)/m);
    } finally {
      await cli("rollout", "abort", id);
    }
  });

  it("a rollout without a selector says it takes every agent with its app", async () => {
    const created = await cli("rollout", "create", "--release", release);
    expect(created.code, created.stderr).toBe(0);
    const id = /^rollout +(\S+)/m.exec(created.stdout)?.[1] ?? "";
    await cli("rollout", "abort", id);
    expect(created.stdout).toMatch(/^selector none \(every agent with app web\)$/m);
    expect(created.stdout).toMatch(/^policy +halt at 1 failure\(s\); auto-advance off; auto-rollback off$/m);
    expect(created.stdout).toMatch(/^wave 1 all \[active\].*\n {2}takes 100 % of the fleet, cumulative$/m);
  });

  it("show prints each wave's rule and the policy, as the dashboard's rollout page does", async () => {
    // Only --json's spec said them: a canary's labels, a wave's percent, the threshold and the
    // auto flags were on the dashboard and nowhere in `rollout show`.
    const created = await cli(
      "rollout",
      "create",
      "--release",
      release,
      "--wave",
      "canary=label:ring=canary",
      "--wave",
      "pets=agents:m1",
      "--wave",
      "half=50",
      "--wave",
      "rest=100",
      "--failure-threshold",
      "25%",
      "--auto-rollback",
    );
    expect(created.code, created.stderr).toBe(0);
    const id = /^rollout +(\S+)/m.exec(created.stdout)?.[1] ?? "";
    try {
      const shown = await cli("rollout", "show", id);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(
        /^policy +halt at 25 % failed of the agents it updates in the waves started; auto-advance off; auto-rollback on$/m,
      );
      expect(shown.stdout).toMatch(/^wave 1 canary \[active\].*\n {2}takes labels ring=canary$/m);
      expect(shown.stdout).toMatch(/^wave 2 pets \[waiting\].*\n {2}takes agents m1$/m);
      expect(shown.stdout).toMatch(/^wave 3 half \[waiting\].*\n {2}takes 50 % of the fleet, cumulative$/m);
      expect(shown.stdout).toMatch(/^wave 4 rest \[waiting\].*\n {2}takes 100 % of the fleet, cumulative$/m);
    } finally {
      await cli("rollout", "abort", id);
    }
  });

  it("show says when each wave passes: its waitMinutes and minSuccessRate, acting or not", async () => {
    // Only --json's spec and a waiting wave's reason said them: a canary soaking 30 min at a 95 %
    // bar read like one that advances at once.
    const create = (...flags: string[]) =>
      cli(
        "rollout",
        "create",
        "--release",
        release,
        "--wave",
        "canary=agents:c1",
        "--wave",
        "rest=100",
        ...flags,
      );
    const auto = await create("--wait-minutes", "30", "--min-success-rate", "0.955", "--auto-advance");
    expect(auto.code, auto.stderr).toBe(0);
    const autoId = /^rollout +(\S+)/m.exec(auto.stdout)?.[1] ?? "";
    try {
      const shown = await cli("rollout", "show", autoId);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(
        /^wave 1 canary \[active\].*\n {2}takes agents c1\n {2}passes by itself once finished with ≥ 95\.5 % of the agents it updates succeeded, not before 30 min after it started \(waitMinutes 30, minSuccessRate 95\.5 %\)$/m,
      );
      // The last wave passes to nothing: it completes.
      expect(shown.stdout).toMatch(/^wave 2 rest \[waiting\].*\n {2}takes 100 % of the fleet, cumulative$/m);
    } finally {
      await cli("rollout", "abort", autoId);
    }
    const manual = await create();
    expect(manual.code, manual.stderr).toBe(0);
    const manualId = /^rollout +(\S+)/m.exec(manual.stdout)?.[1] ?? "";
    try {
      const shown = await cli("rollout", "show", manualId);
      expect(shown.stdout).toMatch(
        /^wave 1 canary \[active\].*\n {2}takes agents c1\n {2}passes on an operator's advance \(auto-advance off\)$/m,
      );
    } finally {
      await cli("rollout", "abort", manualId);
    }
  });

  it("a rollout stored by an older hub with a percent finer than 0.01 shows the share its buckets hold", async () => {
    // Percents come in steps of 0.01 now; one stored before (12.345 took 12.35 %, 5e-324 none)
    // still loads, and was shown as written, a share no wave of it held.
    const at = Date.now();
    await hub.t.hub.store.insertRollout({
      id: "older-finer-percent",
      releaseId: release,
      spec: {
        release,
        waves: [
          { name: "none", percent: 5e-324, waitMinutes: 0, minSuccessRate: 1 },
          { name: "canary", percent: 12.345, waitMinutes: 0, minSuccessRate: 1 },
          { name: "rest", percent: 100, waitMinutes: 0, minSuccessRate: 1 },
        ],
        failureThreshold: { count: 1 },
        autoAdvance: false,
        autoRollback: false,
      },
      state: "completed",
      currentWave: 2,
      waveStartedAt: at,
      reason: null,
      failureAllowance: 0,
      created: at,
      updated: at,
    });
    const shown = await cli("rollout", "show", "older-finer-percent");
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(
      /^wave 1 none .*\n {2}takes 0 % of the fleet, cumulative \(created as 5e-324 % by an older hub: a wave takes whole 0\.01 % steps\)$/m,
    );
    expect(shown.stdout).toMatch(
      /^wave 2 canary .*\n {2}takes 12\.35 % of the fleet, cumulative \(created as 12\.345 % by an older hub: a wave takes whole 0\.01 % steps\)$/m,
    );
    expect(shown.stdout).toMatch(/^wave 3 rest .*\n {2}takes 100 % of the fleet, cumulative$/m);
  });

  it("a selector that takes nobody is refused naming the agents' pairs quoted where a pair needs it", async () => {
    // Said as written, 'zone=rack "b", row 2' read as two pairs and a stray quote.
    const refused = await cli("rollout", "create", "--release", release, "--selector", "zone=nowhere");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/their labels: .*/);
    expect(refused.stderr).toContain('ring=main,"zone=rack \\"b\\", row 2"');
  });
});
