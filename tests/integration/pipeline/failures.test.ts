import { access, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultPorts } from "../../../agent/pipeline/default-ports.js";
import type { PipelinePorts } from "../../../agent/pipeline/ports.js";
import { createSandbox, hashTree, type Sandbox, webhookReceiver, writeTree } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

const v1Files = { "app.py": "print('v1')\n", "lib/util.py": "X = 1\n", "old.py": "gone in v2\n" };
const v2Files = { "app.py": "print('v2')\n", "lib/util.py": "X = 2\n", "lib/new.py": "NEW = True\n" };

async function installV1(): Promise<Record<string, string>> {
  const v1 = await box.release("v1", v1Files, {
    version: "1.0.0",
    directories: { data: { preserve: true } },
  });
  expect((await box.run(v1)).exitCode).toBe(0);
  // The user's own files and data: ship never installed them and must give them back untouched.
  await writeTree(box.appDir, { "data/db.sqlite": "user data\n", "local.cfg": "mine\n" });
  return hashTree(box.appDir);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe("a failing update", () => {
  it("restores the tree byte for byte after a failing post_update_test, runs rollback hooks, exits 1", async () => {
    const before = await installV1();
    const hook = await webhookReceiver();
    const marker = join(box.root, "rolled-back");
    const customMarker = join(box.root, "custom");
    try {
      const v2 = await box.release("v2", v2Files, {
        version: "2.0.0",
        hooks: { rollback: [`echo "rollback $SHIP_VERSION -> $SHIP_PREVIOUS_VERSION" > ${marker}`] },
        rollback: { custom_rollback_command: `touch ${customMarker}` },
        post_update_tests: [
          { name: "health", command: "echo 'connection refused' >&2; exit 7", retry_count: 1 },
        ],
        notifications: {
          on_failure: [{ type: "webhook", url: hook.url, message: "{app} {version} failed: {error}" }],
        },
      });
      const summary = await box.run(v2);
      expect(summary.exitCode).toBe(1);
      const report = summary.apps[0]!;
      expect(report.result).toBe("failed_restored");
      expect(report.error).toContain('post_update_test "health"');
      expect(report.error).toContain("connection refused");
      expect(report.error).toContain("after 2 attempts");

      expect(await hashTree(box.appDir)).toEqual(before);
      expect(await readFile(marker, "utf8")).toBe("rollback 2.0.0 -> 1.0.0\n");
      expect(await exists(customMarker)).toBe(true);

      const state = await box.state();
      expect(state.sources.myapp).toMatchObject({ current_version: "1.0.0", last_result: "failed_restored" });
      expect(String(state.sources.myapp?.last_error)).toContain("connection refused");
      expect(hook.bodies).toHaveLength(1);
      expect(hook.bodies[0]).toMatchObject({ app: "myapp", version: "2.0.0", status: "failure" });
      expect(String(hook.bodies[0]?.message)).toMatch(/^myapp 2\.0\.0 failed: post_update_test "health"/);
    } finally {
      await hook.close();
    }
  });

  it("restores after a failing migration (critical_error) and a failing post_update hook (service_start_fail)", async () => {
    const before = await installV1();
    const migration = await box.release("v2", v2Files, {
      version: "2.0.0",
      migrations: { "2.0.0": ["exit 3"] },
    });
    const failedMigration = await box.run(migration);
    expect(failedMigration.exitCode).toBe(1);
    expect(failedMigration.apps[0]?.error).toContain("migration 2.0.0");
    expect(await hashTree(box.appDir)).toEqual(before);

    const hookRelease = await box.release("v2b", v2Files, {
      version: "2.0.0",
      hooks: { post_update: ["false"] },
    });
    const failedHook = await box.run(hookRelease);
    expect(failedHook.exitCode).toBe(1);
    expect(failedHook.apps[0]?.result).toBe("failed_restored");
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  it("names the migrations that ran before a later one failed, since restoring the files does not undo them", async () => {
    const before = await installV1();
    const hook = await webhookReceiver();
    const ran = join(box.root, "migrations-ran");
    try {
      const v2 = await box.release("v2", v2Files, {
        version: "2.0.0",
        migrations: {
          "1.5.0": [`echo 1.5.0 >> ${ran}`],
          "2.0.0": [`echo 2.0.0a >> ${ran}`, "echo 'column exists' >&2; exit 3", `echo 2.0.0c >> ${ran}`],
        },
        notifications: { on_failure: [{ type: "webhook", url: hook.url, message: "{error}" }] },
      });
      const summary = await box.run(v2);
      expect(summary.exitCode).toBe(1);
      const report = summary.apps[0]!;
      expect(report.result).toBe("failed_restored");
      const note = "migrations 1.5.0, 2.0.0[0] ran before the failure: restoring the files does not undo";
      expect(report.message).toContain(note);
      expect(report.error).toContain(note);
      expect(String(hook.bodies[0]?.error)).toContain(note);
      expect(String((await box.state()).sources.myapp?.last_error)).toContain(note);
      expect(await readFile(ran, "utf8")).toBe("1.5.0\n2.0.0a\n");
      expect(await hashTree(box.appDir)).toEqual(before);

      // A failure before any migration finished names none.
      const first = await box.release("v2b", v2Files, {
        version: "2.0.0",
        migrations: { "2.0.0": ["exit 3"] },
      });
      const none = await box.run(first);
      expect(none.apps[0]?.result).toBe("failed_restored");
      expect(none.apps[0]?.message).not.toContain("ran before the failure");

      // Nor does a failing health check after them undo them.
      const health = await box.release("v2c", v2Files, {
        version: "2.0.0",
        migrations: { "2.0.0": [`echo again >> ${ran}`] },
        post_update_tests: [{ name: "health", command: "exit 1" }],
      });
      const failedHealth = await box.run(health);
      expect(failedHealth.apps[0]?.result).toBe("failed_restored");
      expect(failedHealth.apps[0]?.error).toContain("migration 2.0.0 ran before the failure");
      expect(await hashTree(box.appDir)).toEqual(before);
    } finally {
      await hook.close();
    }
  });

  it("leaves the new version in place, loudly, when auto_rollback_on excludes the trigger", async () => {
    await installV1();
    const v2 = await box.release("v2", v2Files, {
      version: "2.0.0",
      rollback: { auto_rollback_on: ["service_start_fail"] },
      post_update_tests: [{ name: "health", command: "exit 1" }],
    });
    const summary = await box.run(v2);
    expect(summary.exitCode).toBe(1);
    expect(summary.apps[0]?.result).toBe("failed_not_rolled_back");
    expect(summary.apps[0]?.message).toContain("NOT rolled back");
    expect(summary.lines.some((l) => l.level === "error" && l.msg.includes("LEFT IN PLACE"))).toBe(true);
    expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("print('v2')\n");
    const state = await box.state();
    expect(state.sources.myapp).toMatchObject({
      current_version: "2.0.0",
      previous_version: "1.0.0",
      last_result: "failed_not_rolled_back",
    });
  });

  it("kills a hanging pre_update hook at its timeout and changes nothing", async () => {
    const before = await installV1();
    const hookStarted = join(box.root, "hook-started");
    const v2 = await box.release("v2", v2Files, {
      version: "2.0.0",
      hooks: { pre_update: [{ command: `: > ${hookStarted}; sleep 60`, timeout: 0.5 }] },
    });
    const summary = await box.run(v2);
    // Timed from the hook's start, not the run's: 5 s for the whole run also held its fetch, checks
    // and backup, which a loaded machine stretched to 4 s. From the hook's start to the run's end
    // is its 0.5 s, the kill and the clean-up; a hook killed at 10 times its timeout fails.
    expect(Date.now() - (await stat(hookStarted)).mtimeMs).toBeLessThan(5000);
    expect(summary.exitCode).toBe(1);
    expect(summary.apps[0]?.result).toBe("failed_unchanged");
    expect(summary.apps[0]?.error).toContain("timed out after 0.5s");
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  it("runs the rollback hooks when a pre_update hook fails (it may have stopped services)", async () => {
    const before = await installV1();
    const marker = join(box.root, "restarted");
    const v2 = await box.release("v2", v2Files, {
      version: "2.0.0",
      hooks: { pre_update: ["true", "exit 9"], rollback: [`touch ${marker}`] },
    });
    const summary = await box.run(v2);
    expect(summary.exitCode).toBe(1);
    expect(summary.apps[0]?.error).toBe("pre_update hook[1] exited with 9");
    expect(await exists(marker)).toBe(true);
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  it("a failing rollback hook is reported, but the files were restored: exit 1, not 3", async () => {
    const before = await installV1();
    const v2 = await box.release("v2", v2Files, {
      version: "2.0.0",
      hooks: { rollback: ["echo 'service will not start' >&2; exit 1"] },
      post_update_tests: [{ name: "health", command: "exit 1" }],
    });
    const summary = await box.run(v2);
    expect(summary.exitCode).toBe(1);
    expect(summary.apps[0]?.result).toBe("failed_restored");
    expect(summary.apps[0]?.message).toContain("restored the previous version");
    expect(summary.apps[0]?.message).toContain("rollback commands failed");
    expect(summary.apps[0]?.message).toContain("rollback hook[0] exited with 1");
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  it("rollback commands shipped by the failing release run in its files ($SHIP_RELEASE_DIR), after the restore", async () => {
    const marker = join(box.root, "rollback-log");
    const script = (who: string) =>
      `#!/bin/sh\necho "${who} $1 app=$(cat "$SHIP_APP_DIR/app.py")" >> ${marker}\n`;
    const v1 = await box.release(
      "v1",
      { ...v1Files, "scripts/rollback.sh": script("v1-script") },
      {
        version: "1.0.0",
      },
    );
    expect((await box.run(v1)).exitCode).toBe(0);
    const before = await hashTree(box.appDir);
    const v2 = await box.release(
      "v2",
      { ...v2Files, "scripts/rollback.sh": script("v2-script") },
      {
        version: "2.0.0",
        hooks: { rollback: ["sh scripts/rollback.sh hook"] },
        rollback: { custom_rollback_command: 'sh "$SHIP_RELEASE_DIR/scripts/rollback.sh" custom' },
        post_update_tests: [{ name: "health", command: "exit 1" }],
      },
    );
    const summary = await box.run(v2);
    expect(summary.exitCode, summary.apps[0]?.message).toBe(1);
    expect(summary.apps[0]?.result).toBe("failed_restored");
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe(
      "v2-script hook app=print('v1')\nv2-script custom app=print('v1')\n",
    );
  });

  it("before the apply, rollback commands find the release's files that were left out of staging as unchanged", async () => {
    const marker = join(box.root, "rollback-log");
    const script = `#!/bin/sh\necho "script $1" >> ${marker}\n`;
    const v1 = await box.release("v1", { ...v1Files, "scripts/rollback.sh": script }, { version: "1.0.0" });
    expect((await box.run(v1)).exitCode).toBe(0);
    // The script is byte for byte what the app holds: the source does not stage it again.
    const v2 = await box.release(
      "v2",
      { ...v2Files, "scripts/rollback.sh": script },
      { version: "2.0.0", hooks: { pre_update: ["exit 9"], rollback: ["sh scripts/rollback.sh hook"] } },
    );
    const summary = await box.run(v2);
    expect(summary.exitCode, summary.apps[0]?.message).toBe(1);
    expect(summary.apps[0]?.message).not.toContain("rollback commands failed");
    expect(await readFile(marker, "utf8")).toBe("script hook\n");
  });

  it("a refusal before the first write says nothing changed, once, without a doubled prefix", async () => {
    const before = await installV1();
    const v2 = await box.release(
      "v2",
      { ...v2Files, "local.cfg/inner": "a dir where the user has a file\n" },
      {
        version: "2.0.0",
      },
    );
    // As if local.cfg appeared between the verify step's check of the app's paths and the apply.
    const real = defaultPorts();
    const ports: PipelinePorts = { ...real, engine: { ...real.engine, checkPaths: async () => {} } };
    const summary = await box.run(v2, { ports });
    const message = summary.apps[0]?.message ?? "";
    expect(summary.exitCode).toBe(1);
    expect(summary.apps[0]?.result).toBe("failed_unchanged");
    expect(message).toMatch(/^myapp: update failed at apply: local\.cfg\/inner: /);
    expect(message).toContain("the app's files were not changed");
    expect(message).not.toContain("restored");
    expect(message).not.toContain("myapp: myapp:");
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  it("refuses a downgrade with exit 2 unless allowed", async () => {
    await installV1();
    const older = await box.release("v0", { "app.py": "print('v0')\n" }, { version: "0.9.0" });
    const refused = await box.run(older);
    expect(refused.exitCode).toBe(2);
    // Not "refused": that result means another run held the lock (the daemon retries those later).
    expect(refused.apps[0]?.result).toBe("failed_unchanged");
    expect(refused.apps[0]?.message).toContain("older than the installed 1.0.0");
    expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("print('v1')\n");
    const allowed = await box.run(older, { allowDowngrade: true });
    expect(allowed.exitCode).toBe(0);
    expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("print('v0')\n");
  });

  it("an installed version that starts with text is older than any numeric release, not newer", async () => {
    const dev = await box.release("dev", { "app.py": "print('dev')\n" }, { version: "dev-build" });
    expect((await box.run(dev)).exitCode).toBe(0);
    const v1 = await box.release("v1", { "app.py": "print('v1')\n" }, { version: "1.0.0" });
    const summary = await box.run(v1);
    expect(summary.apps[0]?.message ?? "").not.toContain("older than");
    expect(summary.exitCode).toBe(0);
    expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("print('v1')\n");
    // And going back to it is the downgrade.
    expect((await box.run(dev)).exitCode).toBe(2);
  });

  it("versions with a name before them: the release after its candidate is an upgrade, not a downgrade", async () => {
    const rc = await box.release("rc", { "app.py": "print('rc')\n" }, { version: "myapp-2.0.0-rc.1" });
    expect((await box.run(rc)).exitCode).toBe(0);
    const release = await box.release("ga", { "app.py": "print('ga')\n" }, { version: "myapp-2.0.0" });
    const summary = await box.run(release);
    expect(summary.apps[0]?.message ?? "").not.toContain("older than");
    expect(summary.exitCode).toBe(0);
    expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("print('ga')\n");
    const old = await box.release("old", { "app.py": "print('old')\n" }, { version: "myapp-1.10.0" });
    const back = await box.run(old);
    expect(back.exitCode).toBe(2);
    expect(back.apps[0]?.message).toContain("release myapp-1.10.0 is older than the installed myapp-2.0.0");
  });

  it("refuses a malformed manifest with exit 2 before any write", async () => {
    const before = await installV1();
    const bad = await box.release("bad", v2Files);
    await writeFile(
      join(bad, "update-manifest.yaml"),
      'version: "2.0.0"\nfiles:\n  "a.py":\n    action: explode\n',
    );
    const summary = await box.run(bad);
    expect(summary.exitCode).toBe(2);
    expect(summary.apps[0]?.message).toContain("update-manifest.yaml");
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  it("an unreachable notification endpoint does not fail the update", async () => {
    const v1 = await box.release("v1", v1Files, {
      version: "1.0.0",
      notifications: { on_success: [{ type: "webhook", url: "http://127.0.0.1:9/down", timeout: 1 }] },
    });
    const summary = await box.run(v1);
    expect(summary.exitCode).toBe(0);
    expect(summary.apps[0]?.result).toBe("updated");
    expect(summary.lines.some((l) => l.msg.startsWith("notification could not be delivered"))).toBe(true);
  });
});
