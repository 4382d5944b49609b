import { spawn } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { acquireLock, appLockFile } from "../../../agent/lock/run-lock.js";
import { SourceMetadataStore } from "../../../agent/sources/metadata.js";
import { readState, recordLastRun, updateSourceState } from "../../../agent/state/state-file.js";
import { BadInputError, LockedError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-state-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("state file", () => {
  it("starts empty, keeps last_run at the top level for jq, and leaves no temp files", async () => {
    const file = join(dir, "sub", ".ship_state.json");
    expect(await readState(file)).toEqual({ last_run: null, sources: {} });
    await recordLastRun(file, new Date("2026-01-02T03:04:05Z"));
    await updateSourceState(file, "app", (s) => ({ ...s, current_version: "1.0.0", last_result: "updated" }));
    const raw = JSON.parse(await readFile(file, "utf8"));
    expect(raw.last_run).toBe("2026-01-02T03:04:05.000Z");
    expect(raw.sources.app.current_version).toBe("1.0.0");
    expect(raw.sources.app.previous_version).toBeNull();
    expect(await readdir(join(dir, "sub"))).toEqual([".ship_state.json"]);
  });

  it("keeps keys it does not know (a newer agent's state) when rewriting", async () => {
    const file = join(dir, "state.json");
    await writeFile(file, JSON.stringify({ last_run: null, sources: {}, future_key: 7 }));
    await recordLastRun(file, new Date(0));
    expect(JSON.parse(await readFile(file, "utf8")).future_key).toBe(7);
  });

  it("loses no change when several apps update their entries at once", async () => {
    const file = join(dir, "state.json");
    const names = Array.from({ length: 20 }, (_, i) => `app${i}`);
    await Promise.all(names.map((n) => updateSourceState(file, n, (s) => ({ ...s, current_version: n }))));
    const state = await readState(file);
    expect(Object.keys(state.sources).sort()).toEqual([...names].sort());
  });

  it("does not rewrite the file for a change that changes nothing (each write is two fsyncs)", async () => {
    const file = join(dir, "state.json");
    await updateSourceState(file, "app", (s) => ({ ...s, current_version: "1.0.0" }));
    const written = await stat(file);
    await updateSourceState(file, "app", (s) => s); // the run-start sync of an app already in line
    await updateSourceState(file, "app", (s) => ({ ...s, current_version: "1.0.0" }));
    expect((await stat(file)).ino).toBe(written.ino); // atomic writes rename a new file in
    await updateSourceState(file, "app", (s) => ({ ...s, current_version: "2.0.0" }));
    expect((await stat(file)).ino).not.toBe(written.ino);
    expect((await readState(file)).sources.app?.current_version).toBe("2.0.0");
  });

  it("a state file that is a symlink is written where it leads, and stays a link", async () => {
    // Two links deep, the target not written yet: every write goes there.
    const shared = join(dir, "shared");
    await symlink(join(shared, "state.json"), join(dir, "middle.json"));
    const file = join(dir, "state.json");
    await symlink(join(dir, "middle.json"), file);
    await mkdir(shared);
    await recordLastRun(file, new Date(0));
    await updateSourceState(file, "app", (s) => ({ ...s, current_version: "1.0.0" }));
    expect((await lstat(file)).isSymbolicLink()).toBe(true);
    expect((await lstat(join(dir, "middle.json"))).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(join(shared, "state.json"), "utf8")).sources.app.current_version).toBe(
      "1.0.0",
    );
    expect(await readdir(shared)).toEqual(["state.json"]);
  });

  it("a metadata_file that is a symlink is written where it leads, and stays a link", async () => {
    const target = join(dir, "meta-target.json");
    const link = join(dir, "meta.json");
    await symlink(target, link);
    const store = new SourceMetadataStore(link, "web", z.object({ etag: z.string() }));
    await store.write({ etag: "x" });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await store.read()).toEqual({ etag: "x" });
    await store.forget();
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(target, "utf8"))).toEqual({ sources: {} });
  });

  it("refuses a corrupt state file instead of silently resetting it", async () => {
    const file = join(dir, "state.json");
    await writeFile(file, "{not json");
    await expect(readState(file)).rejects.toBeInstanceOf(BadInputError);
  });

  it("refuses a hand-edited time it cannot read, naming the key ('yesterday' read as no time at all)", async () => {
    const file = join(dir, "state.json");
    const entry = { current_version: "1.0.0", last_update: "2026-01-02T03:04:05+01:00" };
    await writeFile(file, JSON.stringify({ last_run: "2026-01-02T03:04:05", sources: { app: entry } }));
    expect((await readState(file)).sources.app?.last_update).toBe("2026-01-02T03:04:05+01:00");
    for (const [state, key] of [
      [{ last_run: "today" }, "last_run"],
      [{ sources: { app: { ...entry, last_update: "yesterday" } } }, "sources.app.last_update"],
      [
        {
          sources: {
            app: { pending_update: { version: "2", from: null, started: "now", rollback_commands: [] } },
          },
        },
        "sources.app.pending_update.started",
      ],
    ] as const) {
      await writeFile(file, JSON.stringify(state));
      await expect(readState(file)).rejects.toThrow(
        `${file} is damaged, ${key}: is not an ISO 8601 time such as 2026-12-04T03:44:02.545Z: ship's record`,
      );
    }
  });
});

describe("run lock", () => {
  it("is exclusive while held and free again after release", async () => {
    const file = join(dir, "ship.lock");
    const lock = await acquireLock(file, memoryLogger());
    const holder = JSON.parse(await readFile(file, "utf8"));
    expect(holder.pid).toBe(process.pid);
    const error = await acquireLock(file, memoryLogger()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect((error as LockedError).exitCode).toBe(75);
    expect((error as LockedError).message).toContain(`pid ${process.pid}`);
    await lock.release();
    const again = await acquireLock(file, memoryLogger());
    await again.release();
  });

  it("takes over a lock whose process is dead, with a warning", async () => {
    const child = spawn("true");
    const deadPid = await new Promise<number>((r) => child.on("exit", () => r(child.pid ?? 0)));
    const file = join(dir, "ship.lock");
    await writeFile(
      file,
      JSON.stringify({ pid: deadPid, host: hostname(), started: "2026-01-01T00:00:00Z" }),
    );
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const lock = await acquireLock(file, memoryLogger(lines));
    expect(JSON.parse(await readFile(file, "utf8")).pid).toBe(process.pid);
    expect(lines.some((l) => l.level === "warn" && l.msg === "taking over a stale lock")).toBe(true);
    await lock.release();
  });

  it("treats a pid now used by an unrelated program as stale", async () => {
    const sleeper = spawn("sleep", ["30"]);
    try {
      const file = join(dir, "ship.lock");
      await writeFile(
        file,
        JSON.stringify({ pid: sleeper.pid, host: hostname(), started: "2026-01-01T00:00:00Z" }),
      );
      const lock = await acquireLock(file, memoryLogger());
      expect(JSON.parse(await readFile(file, "utf8")).pid).toBe(process.pid);
      await lock.release();
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  it("lets exactly one of two racing runs take over the same stale lock", async () => {
    const file = join(dir, "ship.lock");
    await writeFile(
      file,
      JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), started: "2026-01-01T00:00:00Z" }),
    );
    const results = await Promise.allSettled([
      acquireLock(file, memoryLogger()),
      acquireLock(file, memoryLogger()),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const failed = results.find((r) => r.status === "rejected");
    expect((failed as PromiseRejectedResult).reason).toBeInstanceOf(LockedError);
    expect(await readdir(dir)).toEqual(["ship.lock"]);
  });

  it("refuses a lock file that is a symlink leading nowhere (bad input, not 'another run holds it')", async () => {
    const file = join(dir, "ship.lock");
    await symlink(join(dir, "not-mounted", "ship.lock"), file);
    const error = await acquireLock(file, memoryLogger()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toContain(
      `is a symlink to ${join(dir, "not-mounted", "ship.lock")}, which does not exist`,
    );
    // Nothing was created through the link, and the link is left for the operator.
    await expect(stat(join(dir, "not-mounted"))).rejects.toThrow();
    expect(await readdir(dir)).toEqual(["ship.lock"]);
  });

  it("names one lock file per app directory", () => {
    expect(appLockFile("/run/ship", "/opt/my app")).toMatch(
      /^\/run\/ship\/app-opt_my_app-[0-9a-f]{8}\.lock$/,
    );
    expect(appLockFile("/l", "/opt/a")).not.toBe(appLockFile("/l", "/opt/b"));
  });
});
