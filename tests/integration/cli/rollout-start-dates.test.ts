/**
 * When a standalone staged rollout starts is read the same on every host, or refused. It was read
 * with Date.parse: `start: "1"` opened every stage in 2001, `"2026-02-30"` meant 2 March,
 * `"Dec 5 2026"` passed as ISO, and a date-time without a zone was each host's local time, so two
 * hosts in two zones disagreed on when a stage opens (the README: "every host decides alone and
 * all agree"). Each is exit 2 naming the file and key, in --test-manifest, --check-rollout and a
 * run, with the app untouched; ISO dates and date-times with an offset still work.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

const staged = (start: string) =>
  `version: "2.0.0"\nrollout:\n  start: "${start}"\n  stages:\n    - { name: canary, percentage: 0, wait_hours: 1 }\n    - { name: everyone, percentage: 100 }\n`;

describe("rollout.start and release_date are ISO 8601 that every host reads alike", () => {
  it.each([
    ["a bare number", "1", /:3:3 rollout\.start: not an ISO date-time: "1"/],
    [
      "a day the calendar lacks",
      "2026-02-30",
      /:3:3 rollout\.start: not an ISO date-time: "2026-02-30" is no date of the calendar/,
    ],
    [
      "an hour past the day",
      "2026-12-05T24:30:00Z",
      /rollout\.start: not an ISO date-time: "2026-12-05T24:30:00Z" is no date/,
    ],
    [
      "an offset past a day",
      "2026-12-05T10:00:00+25:00",
      /rollout\.start: not an ISO date-time: "2026-12-05T10:00:00\+25:00" is no date/,
    ],
    ["English words", "Dec 5 2026", /:3:3 rollout\.start: not an ISO date-time: "Dec 5 2026"/],
    [
      "a date-time without a zone",
      "2026-12-05T10:00:00",
      /rollout\.start: not an ISO date-time every host reads alike: "2026-12-05T10:00:00" has no time zone/,
    ],
    [
      "a date and time with a space, no zone",
      "2026-12-05 10:00",
      /has no time zone, so each host would take its own \(add "Z"/,
    ],
  ])(
    "%s: exit 2 naming the key in --test-manifest, --check-rollout and a run, app untouched",
    async (_, start, message) => {
      const release = await app.release("r2", staged(start));
      const manifest = join(release, "update-manifest.yaml");
      const checked = await runShip(["--test-manifest", manifest]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(2);
      expect(checked.stderr).toMatch(message);

      const rollout = await runShip(["--check-rollout", manifest, "--config", app.config]);
      expect(rollout.code, rollout.stdout + rollout.stderr).toBe(2);
      expect(rollout.stderr).toMatch(/rollout\.start: not an ISO date-time/);

      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toMatch(/rollout\.start: not an ISO date-time/);
      expect(await readdir(app.appDir)).toEqual([]);
    },
  );

  it("a release_date the rollout falls back to is held to the same rule", async () => {
    const release = await app.release(
      "r2",
      'version: "2.0.0"\nrelease_date: "2026-02-30"\nrollout:\n  stages:\n    - { percentage: 100 }\n',
    );
    const checked = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(2);
    expect(checked.stderr).toMatch(
      /:2:1 release_date: not an ISO date-time: "2026-02-30" is no date of the calendar; the staged rollout starts at release_date/,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(await readdir(app.appDir)).toEqual([]);
  });

  it("a release_date no rollout uses may carry a time without a zone (no warning), not a day that does not exist", async () => {
    const release = await app.release("r1", 'version: "1.0.0"\nrelease_date: "2026-01-20 10:00"\n');
    const quiet = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
    expect(quiet.code, quiet.stdout + quiet.stderr).toBe(0);
    expect(quiet.stdout + quiet.stderr).not.toMatch(/release_date/);
    const odd = await app.release("r2", 'version: "1.0.0"\nrelease_date: "2026-02-30"\n');
    const warned = await runShip(["--test-manifest", join(odd, "update-manifest.yaml")]);
    expect(warned.code, warned.stdout + warned.stderr).toBe(0);
    expect(warned.stdout + warned.stderr).toMatch(/release_date: "2026-02-30" is not a date/);
  });

  it.each([
    ["a date (midnight UTC)", "2026-03-01", "2026-03-01T01:00:00.000Z"],
    ["UTC", "2026-03-01T06:00:00Z", "2026-03-01T07:00:00.000Z"],
    ["an offset, minutes and a fraction", "2026-03-01T08:00:00.250+02:00", "2026-03-01T07:00:00.250Z"],
    ["no seconds", "2026-03-01T06:30Z", "2026-03-01T07:30:00.000Z"],
  ])("%s is read alike in every time zone", async (_, start, everyoneOpens) => {
    const release = await app.release("r2", staged(start));
    const manifest = join(release, "update-manifest.yaml");
    const answers = await Promise.all(
      ["UTC", "America/New_York", "Asia/Kolkata"].map((TZ) =>
        runShip(["--check-rollout", manifest, "--config", app.config, "--json"], { env: { TZ } }),
      ),
    );
    for (const answer of answers) {
      expect(answer.code, answer.stdout + answer.stderr).toBe(0);
      const stages = JSON.parse(answer.stdout) as {
        stage: { opensAt: string } | null;
        nextStage: { opensAt: string } | null;
      };
      const everyone = [stages.stage, stages.nextStage].find((s) => s?.opensAt === everyoneOpens);
      expect(everyone, answer.stdout).toBeDefined();
    }
  });
});
