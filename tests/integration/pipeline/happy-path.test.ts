import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recover } from "../../../agent/pipeline/index.js";
import { BadInputError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { createSandbox, hashTree, type Sandbox, webhookReceiver } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

const v1Files = { "app.py": "print('v1')\n", "lib/util.py": "X = 1\n", "old.py": "gone in v2\n" };
const v2Files = { "app.py": "print('v2')\n", "lib/util.py": "X = 2\n", "lib/new.py": "NEW = True\n" };

describe("ship run from a local source", () => {
  it("installs v1, then updates to v2 with hooks, tests, state and a success notification", async () => {
    const hook = await webhookReceiver();
    const markers = join(box.root, "markers");
    try {
      const v1 = await box.release("v1", v1Files, { version: "1.0.0" });
      const first = await box.run(v1);
      expect(first.exitCode).toBe(0);
      expect(first.apps[0]?.result).toBe("updated");
      expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("print('v1')\n");

      const v2 = await box.release("v2", v2Files, {
        version: "2.0.0",
        hooks: {
          pre_update: [`echo "pre $SHIP_PREVIOUS_VERSION -> $SHIP_VERSION" >> ${markers}`],
          post_update: [`echo "post $SHIP_APP $(cat app.py)" >> ${markers}`],
        },
        post_update_tests: [{ name: "imports", command: "grep -q v2 app.py" }],
        notifications: {
          on_success: [{ type: "webhook", url: hook.url, message: "{app} now on {version}" }],
        },
      });
      const second = await box.run(v2);
      expect(second.exitCode).toBe(0);
      const report = second.apps[0]!;
      expect(report).toMatchObject({ result: "updated", fromVersion: "1.0.0", toVersion: "2.0.0" });
      expect(report.steps.map((s) => s.step)).toEqual([
        "fetch",
        "verify",
        "rollout",
        "conditionals",
        "requirements",
        "pre_update hooks",
        "apply",
        "migrations",
        "post_update hooks",
        "tests",
        "cleanup",
      ]);
      expect(
        second.lines.some((l) => l.msg === "step apply done" && typeof l.data?.durationMs === "number"),
      ).toBe(true);

      const appTree = await hashTree(box.appDir);
      const { "update-manifest.yaml": _manifest, ...releaseTree } = await hashTree(v2);
      expect(appTree).toEqual(releaseTree);
      expect(await readFile(markers, "utf8")).toBe("pre 1.0.0 -> 2.0.0\npost myapp print('v2')\n");

      const state = await box.state();
      expect(state.last_run).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(state.sources.myapp).toMatchObject({
        current_version: "2.0.0",
        previous_version: "1.0.0",
        last_result: "updated",
        last_error: null,
      });
      expect(hook.bodies).toHaveLength(1);
      expect(hook.bodies[0]).toMatchObject({
        app: "myapp",
        version: "2.0.0",
        status: "success",
        message: "myapp now on 2.0.0",
      });

      const again = await box.run(v2);
      expect(again.exitCode).toBe(0);
      expect(again.apps[0]?.result).toBe("up_to_date");
    } finally {
      await hook.close();
    }
  });

  it("--check-only reports an update with exit 100 and applies nothing", async () => {
    const v1 = await box.release("v1", v1Files, { version: "1.0.0" });
    const summary = await box.run(v1, { checkOnly: true });
    expect(summary.exitCode).toBe(100);
    expect(summary.apps[0]?.result).toBe("update_available");
    expect(await hashTree(box.appDir)).toEqual({});
    // A check is not a run: it must not start the once-a-day clock.
    await expect(box.state()).rejects.toThrow(/ENOENT/);
  });
});

describe("source selection", () => {
  it("refuses an unknown --sources name as bad input before doing anything", async () => {
    const v1 = await box.release("v1", v1Files, { version: "1.0.0" });
    const error = await box.run(v1, { sources: ["nope"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).exitCode).toBe(2);
    expect((error as BadInputError).message).toContain("configured: myapp");
    expect(await hashTree(box.appDir)).toEqual({});
  });

  it("recover() with nothing interrupted reports exit 0 and changes nothing", async () => {
    const v1 = await box.release("v1", v1Files, { version: "1.0.0" });
    expect((await box.run(v1)).exitCode).toBe(0);
    const before = await hashTree(box.appDir);
    const summary = await recover(box.config(v1), memoryLogger());
    expect(summary.exitCode).toBe(0);
    expect(summary.apps.map((a) => a.source)).toEqual(["myapp"]);
    expect(await hashTree(box.appDir)).toEqual(before);
  });
});
