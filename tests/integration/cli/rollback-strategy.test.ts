import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("rollback.strategy", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("accepts the seed's values and refuses any other, saying that backups are always changesets", async () => {
    for (const strategy of ["full_backup", "changed_only"]) {
      const dir = await app.release(strategy, `version: "1.0.0"\nrollback:\n  strategy: "${strategy}"\n`);
      const ok = await runShip(["--test-manifest", join(dir, "update-manifest.yaml")]);
      expect(ok.code, ok.stderr).toBe(0);
    }
    const dir = await app.release("bad", `version: "1.0.0"\nrollback:\n  strategy: "snapshot"\n`);
    const refused = await runShip(["--test-manifest", join(dir, "update-manifest.yaml")]);
    expect(refused.code).toBe(2);
    expect(refused.stderr + refused.stdout).toMatch(
      /rollback\.strategy: unknown rollback strategy "snapshot" \(expected full_backup or changed_only; both mean the same: every backup is a changeset/,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code).toBe(2);
    // The message names the operator's manifest, not the staging copy that is gone by now.
    expect(run.stderr).toContain(`${join(dir, "update-manifest.yaml")}:3:`);
    expect(run.stderr).not.toContain(".staging");
  });
});
