import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateConditionals } from "../../../agent/conditions/evaluate-conditionals.js";
import { hostConditionContext } from "../../../agent/conditions/host-context.js";
import { BadInputError } from "../../../shared/errors.js";
import { Conditional } from "../../../shared/manifest/schema.js";

let appDir: string;
beforeAll(() => {
  appDir = mkdtempSync(join(tmpdir(), "ship-condls-"));
  writeFileSync(join(appDir, ".maintenance_mode"), "");
});
afterAll(() => rmSync(appDir, { recursive: true, force: true }));

const ctx = (currentVersion?: string) =>
  hostConditionContext({ appDir, currentVersion, env: { PATH: process.env.PATH, STAGE: "prod" } });
const conditionals = (...items: unknown[]) => items.map((item) => Conditional.parse(item));

describe("evaluateConditionals", () => {
  it("proceeds when no condition holds, and reports each one", async () => {
    const verdict = await evaluateConditionals(
      conditionals(
        { condition: "file_exists('.nope')", action: "skip_update", message: "maintenance" },
        {
          condition: "current_version < '2.0.0'",
          action: "require_manual_intervention",
          manual_steps: ["Back up"],
        },
      ),
      ctx("2.1.0"),
    );
    expect(verdict).toMatchObject({ decision: "proceed", warnings: [], manualSteps: [], reasons: [] });
    expect(verdict.outcomes.map((o) => [o.result, o.observations.length])).toEqual([
      [false, 1],
      [false, 1],
    ]);
  });

  it("skips when a skip_update condition holds (the seed's maintenance-mode example)", async () => {
    const verdict = await evaluateConditionals(
      conditionals({
        condition: "file_exists('.maintenance_mode')",
        action: "skip_update",
        message: "System in maintenance mode",
      }),
      ctx("1.0.0"),
    );
    expect(verdict.decision).toBe("skip");
    expect(verdict.reasons).toEqual(["System in maintenance mode"]);
  });

  it("requires a person when require_manual_intervention holds, even if a skip holds too", async () => {
    const verdict = await evaluateConditionals(
      conditionals(
        { condition: "file_exists('.maintenance_mode')", action: "skip_update" },
        {
          condition: "current_version < '2.0.0'",
          action: "require_manual_intervention",
          message: "Major version upgrade - manual steps required",
          manual_steps: ["Create database backup", "Review breaking changes in CHANGELOG.md"],
        },
        { condition: "env_var('STAGE') == 'prod'", action: "warn", message: "updating production" },
        { condition: "env_var('STAGE') == 'dev'", action: "warn", message: "not shown" },
      ),
      ctx("1.4.2"),
    );
    expect(verdict.decision).toBe("manual");
    expect(verdict.manualSteps).toEqual([
      "Create database backup",
      "Review breaking changes in CHANGELOG.md",
    ]);
    expect(verdict.warnings).toEqual(["updating production"]);
    expect(verdict.reasons).toEqual([
      "Major version upgrade - manual steps required",
      "condition holds: file_exists('.maintenance_mode')",
    ]);
  });

  it("rejects the whole list before running anything when one condition does not parse", async () => {
    const run = evaluateConditionals(
      conditionals(
        { condition: "command('touch should-not-exist')", action: "warn" },
        { condition: "file_exists('a') and", action: "skip_update" },
        { condition: "nope('x')", action: "skip_update" },
      ),
      ctx("1.0.0"),
      { file: "/rel/update-manifest.yaml" },
    );
    await expect(run).rejects.toBeInstanceOf(BadInputError);
    const error = (await run.catch((e: unknown) => e)) as BadInputError;
    expect(error.issues.map((i) => [i.file, i.path])).toEqual([
      ["/rel/update-manifest.yaml", "conditionals[1].condition"],
      ["/rel/update-manifest.yaml", "conditionals[2].condition"],
    ]);
    expect(error.message).toMatch(/unexpected end of condition \(at character 21/);
    expect(existsSync(join(appDir, "should-not-exist"))).toBe(false);
  });
});
