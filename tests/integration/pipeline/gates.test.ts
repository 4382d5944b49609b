import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireAppLock, acquireLock, appLockFile } from "../../../agent/lock/run-lock.js";
import { lockDir } from "../../../agent/pipeline/paths.js";
import { memoryLogger } from "../../../shared/log.js";
import { createSandbox, hashTree, type Sandbox } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

async function installV1(): Promise<Record<string, string>> {
  const v1 = await box.release("v1", { "app.py": "print('v1')\n" }, { version: "1.0.0" });
  expect((await box.run(v1)).exitCode).toBe(0);
  return hashTree(box.appDir);
}

describe("migrations", () => {
  it("run for every version v with current < v <= target, in version order", async () => {
    await installV1();
    const log = join(box.root, "migrations.log");
    const migration = (v: string) => [`echo ${v} >> ${log}`];
    const v2 = await box.release(
      "v2",
      { "app.py": "print('v2')\n" },
      {
        version: "2.0.0",
        migrations: Object.fromEntries(
          ["3.0.0", "1.10.0", "1.0.0", "2.0.0", "0.5.0", "1.9.0", "2.0.1"].map((v) => [v, migration(v)]),
        ),
      },
    );
    const summary = await box.run(v2);
    expect(summary.exitCode).toBe(0);
    expect(await readFile(log, "utf8")).toBe("1.9.0\n1.10.0\n2.0.0\n");
  });
});

describe("conditionals", () => {
  it("skip_update stops with exit 0, 'skipped on purpose', and changes nothing", async () => {
    const before = await installV1();
    await writeFile(join(box.root, "maintenance"), "");
    const v2 = await box.release(
      "v2",
      { "app.py": "print('v2')\n" },
      {
        version: "2.0.0",
        conditionals: [
          {
            condition: `file_exists('${join(box.root, "maintenance")}')`,
            action: "skip_update",
            message: "maintenance mode",
          },
        ],
      },
    );
    const summary = await box.run(v2);
    expect(summary.exitCode).toBe(0);
    expect(summary.apps[0]?.result).toBe("skipped");
    expect(summary.apps[0]?.message).toContain("skipped on purpose: maintenance mode");
    expect(await hashTree(box.appDir)).toEqual(before);
    expect((await box.state()).sources.myapp?.last_result).toBe("skipped");
  });

  it("require_manual_intervention returns the manual steps, exit 0, and records it in the state", async () => {
    const before = await installV1();
    const v2 = await box.release(
      "v2",
      { "app.py": "print('v2')\n" },
      {
        version: "2.0.0",
        conditionals: [
          {
            condition: "current_version < '2.0.0'",
            action: "require_manual_intervention",
            message: "major upgrade",
            manual_steps: ["Back up the database", "Read CHANGELOG.md"],
          },
        ],
      },
    );
    const summary = await box.run(v2);
    expect(summary.exitCode).toBe(0);
    expect(summary.apps[0]).toMatchObject({
      result: "manual_intervention_required",
      manualSteps: ["Back up the database", "Read CHANGELOG.md"],
    });
    expect(await hashTree(box.appDir)).toEqual(before);
    const state = await box.state();
    expect(state.sources.myapp).toMatchObject({
      last_result: "manual_intervention_required",
      manual_steps: ["Back up the database", "Read CHANGELOG.md"],
      current_version: "1.0.0",
    });
  });

  it("warn logs and goes on", async () => {
    await installV1();
    const v2 = await box.release(
      "v2",
      { "app.py": "print('v2')\n" },
      {
        version: "2.0.0",
        conditionals: [{ condition: "current_version == '1.0.0'", action: "warn", message: "from 1.0" }],
      },
    );
    const summary = await box.run(v2);
    expect(summary.exitCode).toBe(0);
    expect(summary.apps[0]?.result).toBe("updated");
    expect(summary.apps[0]?.warnings).toEqual(["from 1.0"]);
    expect(summary.lines.some((l) => l.level === "warn" && l.msg === "conditional: from 1.0")).toBe(true);
  });
});

describe("the once-a-day rule", () => {
  it("skips a run within min_interval_hours unless forced, and runs again after it", async () => {
    const t0 = new Date("2026-03-01T06:00:00Z");
    const v1 = await box.release("v1", { "app.py": "print('v1')\n" }, { version: "1.0.0" });
    expect((await box.run(v1, { force: false, now: t0 })).exitCode).toBe(0);
    expect((await box.state()).last_run).toBe(t0.toISOString());

    const v2 = await box.release("v2", { "app.py": "print('v2')\n" }, { version: "2.0.0" });
    const tooSoon = await box.run(v2, { force: false, now: new Date("2026-03-01T12:00:00Z") });
    expect(tooSoon.exitCode).toBe(0);
    expect(tooSoon.apps).toEqual([]);
    // 24 h less the grace of 1/24 of it (see the next test).
    expect(tooSoon.notBefore).toBe("2026-03-02T05:00:00.000Z");
    expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("print('v1')\n");

    const forced = await box.run(v2, { force: true, now: new Date("2026-03-01T12:00:00Z") });
    expect(forced.apps[0]?.result).toBe("updated");

    const v3 = await box.release("v3", { "app.py": "print('v3')\n" }, { version: "3.0.0" });
    const nextDay = await box.run(v3, { force: false, now: new Date("2026-03-02T12:00:01Z") });
    expect(nextDay.apps[0]?.result).toBe("updated");
  });

  it("does not skip the next day's timer run that starts a few minutes short of 24 h (RandomizedDelaySec)", async () => {
    // ship.timer fires at 06:00 plus a new random delay of up to 30 min every day.
    const v1 = await box.release("v1", { "app.py": "print('v1')\n" }, { version: "1.0.0" });
    const day1 = new Date("2026-03-01T06:27:00Z");
    expect((await box.run(v1, { force: false, now: day1 })).exitCode).toBe(0);
    const v2 = await box.release("v2", { "app.py": "print('v2')\n" }, { version: "2.0.0" });
    const day2 = await box.run(v2, { force: false, now: new Date("2026-03-02T06:02:00Z") });
    expect(day2.apps[0]?.result).toBe("updated");
    expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("print('v2')\n");
    // A second start within the hour before the period ends is still the same period's.
    const v3 = await box.release("v3", { "app.py": "print('v3')\n" }, { version: "3.0.0" });
    const sameDay = await box.run(v3, { force: false, now: new Date("2026-03-03T04:59:00Z") });
    expect(sameDay.apps).toEqual([]);
    expect(sameDay.notBefore).toBe("2026-03-03T05:02:00.000Z");
  });
});

describe("locks", () => {
  it("exits 75 naming the holder while another run holds the global lock", async () => {
    const v1 = await box.release("v1", { "app.py": "print('v1')\n" }, { version: "1.0.0" });
    const lockFile = join(box.root, "var", "ship.lock");
    await mkdir(join(box.root, "var"), { recursive: true });
    await writeFile(
      lockFile,
      JSON.stringify({ pid: process.pid, host: hostname(), started: "2026-01-01T00:00:00Z" }),
    );
    const summary = await box.run(v1);
    expect(summary.exitCode).toBe(75);
    expect(summary.message).toContain(`pid ${process.pid}`);
    expect(await hashTree(box.appDir)).toEqual({});
  });

  it("exits 75 for an app whose lock another run holds", async () => {
    const v1 = await box.release("v1", { "app.py": "print('v1')\n" }, { version: "1.0.0" });
    const config = box.config(v1);
    const held = await acquireLock(appLockFile(lockDir(config), box.appDir), memoryLogger());
    try {
      const summary = await box.run(v1);
      expect(summary.exitCode).toBe(75);
      expect(summary.apps[0]?.exitCode).toBe(75);
    } finally {
      await held.release();
    }
    expect((await box.run(v1)).exitCode).toBe(0);
  });

  it("exits 75 for an app a run of another ship.toml (another state directory) holds", async () => {
    const v1 = await box.release("v1", { "app.py": "print('v1')\n" }, { version: "1.0.0" });
    // Before: each config locked under its own state directory, and both updated the app at once.
    const held = await acquireAppLock(join(box.root, "other-state", "locks"), box.appDir, memoryLogger());
    try {
      const summary = await box.run(v1);
      expect(summary.exitCode).toBe(75);
      expect(summary.apps[0]?.message).toMatch(/another ship run holds .*app-.*\.lock \(pid \d+ on /);
      expect(await hashTree(box.appDir)).toEqual({});
    } finally {
      await held.release();
    }
    expect((await box.run(v1)).exitCode).toBe(0);
  });

  it("a host lock directory it cannot use is a WARNING, and the update goes on under its own lock", async () => {
    // Before: a unit whose ProtectSystem=strict left /run read-only (its ReadWritePaths from before the
    // host's locks) failed every update, exit 1 "cannot create directory /run/lock/ship". A file in the
    // way makes mkdir fail here as a read-only /run does there, for root too.
    const v1 = await box.release("v1", { "app.py": "print('v1')\n" }, { version: "1.0.0" });
    await writeFile(join(box.root, "not-a-dir"), "");
    const before = process.env.SHIP_HOST_LOCK_DIR;
    process.env.SHIP_HOST_LOCK_DIR = join(box.root, "not-a-dir", "ship");
    try {
      const summary = await box.run(v1);
      expect(summary.exitCode).toBe(0);
      expect(await hashTree(box.appDir)).toHaveProperty("app.py");
      const warning = summary.lines.find((line) => line.level === "warn" && /host's lock/.test(line.msg));
      expect(warning?.msg).toContain(
        `cannot take the host's lock for ${box.appDir} in ${join(box.root, "not-a-dir", "ship")}`,
      );
      expect(warning?.msg).toContain("ReadWritePaths=-/run/lock");
      // Its own config's lock still keeps its own runs apart.
      const held = await acquireLock(appLockFile(lockDir(box.config(v1)), box.appDir), memoryLogger());
      try {
        expect((await box.run(v1)).exitCode).toBe(75);
      } finally {
        await held.release();
      }
    } finally {
      if (before === undefined) delete process.env.SHIP_HOST_LOCK_DIR;
      else process.env.SHIP_HOST_LOCK_DIR = before;
    }
  });
});

describe("requirements", () => {
  it("an unmet requirement stops the update before any write, naming what is missing", async () => {
    const before = await installV1();
    const v2 = await box.release(
      "v2",
      { "app.py": "print('v2')\n" },
      { version: "2.0.0", requirements: { required_commands: ["sh", "ship-test-no-such-command"] } },
    );
    const summary = await box.run(v2);
    expect(summary.exitCode).toBe(1);
    expect(summary.apps[0]?.result).toBe("failed_unchanged");
    expect(summary.apps[0]?.error).toBe(
      "required_commands.ship-test-no-such-command: ship-test-no-such-command not found on PATH",
    );
    expect(await hashTree(box.appDir)).toEqual(before);
  });
});
