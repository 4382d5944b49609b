import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostConditionContext } from "../../../agent/conditions/host-context.js";
import { checkRolloutEligibility } from "../../../agent/rollout/eligibility.js";
import { scheduleStages } from "../../../agent/rollout/schedule.js";
import { BadInputError } from "../../../shared/errors.js";
import { Manifest } from "../../../shared/manifest/schema.js";
import { bucketOf } from "../../../shared/rollout/bucket.js";

let appDir: string;
beforeAll(() => {
  appDir = mkdtempSync(join(tmpdir(), "ship-rollout-"));
  writeFileSync(join(appDir, "canary"), "");
});
afterAll(() => rmSync(appDir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const START = "2025-03-01T06:00:00Z";
const at = (hours: number) => new Date(Date.parse(START) + hours * HOUR);
const hosts = Array.from({ length: 10_000 }, (_, i) => `host-${i.toString(16).padStart(5, "0")}`);

function manifest(rollout: unknown, extra: Record<string, unknown> = {}) {
  return Manifest.parse({ version: "1.4.0", release_date: START, rollout, ...extra });
}

const canary = manifest({
  strategy: "staged",
  stages: [
    { name: "canary", percentage: 5, wait_hours: 24 },
    { name: "early", percentage: 25, wait_hours: 48 },
    { name: "everyone", percentage: 100 },
  ],
});

const ctx = (env: Record<string, string> = {}) =>
  hostConditionContext({ appDir, currentVersion: "1.3.0", env: { PATH: process.env.PATH, ...env } });

async function eligibleHosts(
  m: Manifest,
  now: Date,
  env: Record<string, string> = {},
  among: readonly string[] = hosts,
): Promise<Set<string>> {
  const conditionContext = ctx(env);
  const eligible = new Set<string>();
  for (const hostId of among) {
    if ((await checkRolloutEligibility(m, { hostId, now, conditionContext })).eligible) eligible.add(hostId);
  }
  return eligible;
}

describe("scheduleStages", () => {
  it("opens stage k after the wait_hours of every stage before it", () => {
    expect(scheduleStages(canary).map((s) => [s.name, s.percentage, s.opensAt.toISOString()])).toEqual([
      ["canary", 5, "2025-03-01T06:00:00.000Z"],
      ["early", 25, "2025-03-02T06:00:00.000Z"],
      ["everyone", 100, "2025-03-04T06:00:00.000Z"],
    ]);
  });

  it("prefers rollout.start over release_date and names unnamed stages", () => {
    const m = manifest({
      start: "2025-04-01T00:00:00Z",
      stages: [{ percentage: 50, wait_hours: 1.5 }, { percentage: 100 }],
    });
    expect(scheduleStages(m).map((s) => [s.name, s.opensAt.toISOString()])).toEqual([
      ["stage 1", "2025-04-01T00:00:00.000Z"],
      ["stage 2", "2025-04-01T01:30:00.000Z"],
    ]);
  });

  it("rejects a rollout without a start, or with a start that is not a date", () => {
    const noStart = Manifest.parse({ version: "1", rollout: { stages: [{ percentage: 100 }] } });
    expect(() => scheduleStages(noStart, "m.yaml")).toThrow(BadInputError);
    expect(() => scheduleStages(noStart, "m.yaml")).toThrow(/m\.yaml rollout\.start: a staged rollout needs/);
    const bad = manifest({ start: "next tuesday", stages: [{ percentage: 100 }] });
    expect(() => scheduleStages(bad)).toThrow(/rollout\.start: not an ISO date-time: "next tuesday"/);
  });
});

describe("checkRolloutEligibility", () => {
  it("lets every host take part without a staged rollout", async () => {
    const options = { hostId: "h", now: at(0), conditionContext: ctx() };
    for (const m of [
      Manifest.parse({ version: "1" }),
      manifest({ strategy: "immediate", stages: [{ percentage: 1 }] }),
      manifest({ strategy: "staged", stages: [] }),
    ]) {
      expect(await checkRolloutEligibility(m, options)).toMatchObject({
        eligible: true,
        bucket: null,
        stage: null,
      });
    }
  });

  it("keeps everyone out before the start", async () => {
    const result = await checkRolloutEligibility(canary, {
      hostId: "h",
      now: at(-1),
      conditionContext: ctx(),
    });
    expect(result).toMatchObject({ eligible: false, stage: null, nextStage: { name: "canary" } });
    expect(result.reason).toBe("the rollout starts at 2025-03-01T06:00:00.000Z");
  });

  it("reaches about each stage's cumulative share of 10,000 hosts, and only grows", async () => {
    const stage1 = await eligibleHosts(canary, at(1));
    const stage2 = await eligibleHosts(canary, at(25));
    const stage3 = await eligibleHosts(canary, at(73));
    expect(stage1.size).toBeGreaterThan(400);
    expect(stage1.size).toBeLessThan(600);
    expect(stage2.size).toBeGreaterThan(2250);
    expect(stage2.size).toBeLessThan(2750);
    expect(stage3.size).toBe(10_000);
    expect([...stage1].every((h) => stage2.has(h))).toBe(true);
    // The very end of a stage still belongs to it; the next opens exactly on time.
    const some = hosts.slice(0, 1000);
    const inSome = (set: Set<string>) => some.filter((h) => set.has(h));
    expect([...(await eligibleHosts(canary, new Date(at(24).getTime() - 1), {}, some))]).toEqual(
      inSome(stage1),
    );
    expect([...(await eligibleHosts(canary, at(24), {}, some))]).toEqual(inSome(stage2));
  });

  it("decides the same way on every call, from bucketOf(version, host id)", async () => {
    const options = { hostId: "host-abc", now: at(30), conditionContext: ctx() };
    const first = await checkRolloutEligibility(canary, options);
    expect(await checkRolloutEligibility(canary, options)).toEqual(first);
    expect(first.bucket).toBe(bucketOf("1.4.0", "host-abc"));
    expect(first.stage).toEqual({
      index: 1,
      name: "early",
      percentage: 25,
      opensAt: "2025-03-02T06:00:00.000Z",
    });
    expect(first.nextStage?.name).toBe("everyone");
    expect(first.eligible).toBe(first.bucket! < 2500);
  });

  it("draws a different canary for a different version", async () => {
    const other = Manifest.parse({ ...canary, version: "1.5.0" });
    const some = hosts.slice(0, 4000);
    const a = await eligibleHosts(canary, at(1), {}, some);
    const b = await eligibleHosts(other, at(1), {}, some);
    expect(a.size).toBeGreaterThan(100);
    expect(b.size).toBeGreaterThan(100);
    const overlap = [...a].filter((h) => b.has(h)).length;
    expect(overlap).toBeLessThan(a.size / 2);
  });

  it("applies a stage's criteria on this host", async () => {
    const gated = manifest({
      stages: [
        { name: "canary", percentage: 5, wait_hours: 24, criteria: "env_var('CANARY') == 'yes'" },
        { name: "rest", percentage: 100 },
      ],
    });
    const some = hosts.slice(0, 4000);
    expect((await eligibleHosts(gated, at(1), {}, some)).size).toBe(0);
    const opted = await eligibleHosts(gated, at(1), { CANARY: "yes" }, some);
    expect(opted.size).toBeGreaterThan(150);
    expect(opted.size).toBeLessThan(250);
    expect((await eligibleHosts(gated, at(25), {}, some)).size).toBe(4000);

    const host = [...opted][0]!;
    const refused = await checkRolloutEligibility(gated, {
      hostId: host,
      now: at(1),
      conditionContext: ctx(),
    });
    expect(refused.eligible).toBe(false);
    expect(refused.reason).toMatch(
      /does not meet the criteria \(canary: env_var\('CANARY'\) == 'yes'\); rest \(100 %\) opens at 2025-03-02T06:00:00.000Z$/,
    );
  });

  it("names a command() criterion by its program: the line's arguments may carry a secret", async () => {
    const gated = manifest({
      stages: [{ name: "all", percentage: 100, criteria: "command('test s3cr3t-token = other')" }],
    });
    const refused = await checkRolloutEligibility(gated, {
      hostId: "host-1",
      now: at(1),
      conditionContext: ctx(),
    });
    expect(refused.eligible).toBe(false);
    expect(refused.reason).toMatch(/does not meet the criteria \(all: command\('test …'\)\)$/);
    expect(refused.reason).not.toContain("s3cr3t");
  });

  it("keeps a host that joined early when a later stage's criteria exclude it", async () => {
    const m = manifest({
      stages: [
        { name: "first", percentage: 10, wait_hours: 1 },
        { name: "second", percentage: 60, criteria: "file_exists('canary') and not file_exists('missing')" },
        { name: "gated", percentage: 100, criteria: "file_exists('missing')" },
      ],
    });
    // 2,000 hosts keep this test fast: every covered host stats files for its criteria.
    const some = hosts.slice(0, 2000);
    const early = await eligibleHosts(m, at(0.5), {}, some);
    const later = await eligibleHosts(m, at(2), {}, some);
    expect(early.size).toBeGreaterThan(120);
    expect([...early].every((h) => later.has(h))).toBe(true);
    expect(later.size).toBeGreaterThan(1100);
    expect(later.size).toBeLessThan(1300);
    const joined = await checkRolloutEligibility(m, {
      hostId: [...early][0]!,
      now: at(2),
      conditionContext: ctx(),
    });
    expect(joined).toMatchObject({ eligible: true, joinedVia: { name: "first" }, stage: { name: "gated" } });
  });

  it("says why criteria on the version of an app ship did not install are not met", async () => {
    const m = manifest({ stages: [{ name: "all", percentage: 100, criteria: "current_version >= '1.0'" }] });
    // appDir holds a file and no version is recorded: an app installed by hand.
    const unknown = hostConditionContext({ appDir, currentVersion: undefined, env: {} });
    const result = await checkRolloutEligibility(m, { hostId: "h", now: at(1), conditionContext: unknown });
    expect(result.eligible).toBe(false);
    expect(result.reason).toBe(
      "bucket " +
        String(bucketOf("1.4.0", "h")) +
        " is covered, but this host does not meet the criteria (all: current_version >= '1.0'); not decided: the installed version is unknown: ship did not install the app in app_dir, and has no record of its version, so the criteria are taken as not met until it has one",
    );
    // A known version that fails the criteria says nothing of the kind.
    const old = hostConditionContext({ appDir, currentVersion: "0.9.0", env: {} });
    const plain = await checkRolloutEligibility(m, { hostId: "h", now: at(1), conditionContext: old });
    expect(plain.reason).not.toContain("not decided");
  });

  it("says when a host is beyond every stage", async () => {
    const half = manifest({ stages: [{ name: "half", percentage: 50 }] });
    const outside = hosts.find((h) => bucketOf("1.4.0", h) >= 5000)!;
    const result = await checkRolloutEligibility(half, {
      hostId: outside,
      now: at(1),
      conditionContext: ctx(),
    });
    expect(result.eligible).toBe(false);
    expect(result.reason).toMatch(
      /is beyond every stage \(at most 50 %\): this host is not part of this rollout$/,
    );
  });

  it("rejects criteria that do not parse, naming the stage", async () => {
    const broken = manifest({
      stages: [{ percentage: 5 }, { percentage: 100, criteria: "env_var('X') = 'y'" }],
    });
    const run = checkRolloutEligibility(broken, {
      hostId: "h",
      now: at(1),
      conditionContext: ctx(),
      file: "m.yaml",
    });
    await expect(run).rejects.toThrow(
      /m\.yaml rollout\.stages\[1\]\.criteria: unexpected '=' \(use '==' to compare\) \(at character 14/,
    );
  });
});
