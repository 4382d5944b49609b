/**
 * Stage percentages are cumulative (5, 25, 100). Written as shares (10, 40, 50: "they add up to
 * 100") the last stage reached half the hosts and the other half never took part, and a stage
 * below the one before it (50 then 10) added nobody; --test-manifest called both valid with 0
 * warnings, and hosts left out only learned it from "beyond every stage". Each is a warning now,
 * naming the stage, in --test-manifest and the run's log; the rollout still acts as written.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

const manifest = (stages: string) =>
  `version: "1.0.0"\nrollout:\n  start: "2026-01-01T00:00:00Z"\n  stages: ${stages}\n`;

async function check(stages: string) {
  const release = await app.release("r1", manifest(stages));
  const run = await runShip(["--test-manifest", join(release, "update-manifest.yaml")]);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  return run.stdout + run.stderr;
}

describe("stage percentages that leave hosts out or add nobody are named", () => {
  it("shares that add up to 100 (10, 40, 50): the last stage is named, with the cumulative reading", async () => {
    expect(await check("[{percentage: 10}, {percentage: 40}, {percentage: 50}]")).toMatch(
      /rollout\.stages\[2\]\.percentage: the last stage reaches 50 % of hosts, so the other 50 % never take part in this release; percentages are cumulative: these add up to 100, as shares would; cumulative, that is 10, 50, 100/,
    );
  });

  it("a stage not above the one before it (50 then 10) adds no host", async () => {
    expect(await check("[{percentage: 50}, {name: late, percentage: 10}, {percentage: 100}]")).toMatch(
      /rollout\.stages\[1\]\.percentage: late \(10 %\) does not go above an earlier stage's 50 %: percentages are cumulative \(5, 25, 100\), so it adds no host/,
    );
  });

  it("a last stage below 100 on its own is named too; 5, 25, 100 says nothing", async () => {
    expect(await check("[{percentage: 10}]")).toMatch(
      /rollout\.stages\[0\]\.percentage: the last stage reaches 10 % of hosts, so the other 90 % never take part in this release/,
    );
    expect(await check("[{percentage: 5}, {percentage: 25}, {percentage: 100}]")).toMatch(/0 warnings/);
  });

  it("strategy: immediate is not read for its stages' shares (its own warning says the stages are not used)", async () => {
    const out = await check("[{percentage: 10}]\n  strategy: immediate");
    expect(out).not.toMatch(/never take part/);
  });

  it("the run says it in its log and acts as written", async () => {
    await app.release("r1", manifest("[{percentage: 0}, {percentage: 100}, {percentage: 100}]"));
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/stage 3 \(100 %\) does not go above an earlier stage's 100 %/);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("r1\n");
  });
});
