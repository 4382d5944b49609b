import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DesiredStateStore } from "../../../agent/daemon/desired-state.js";
import { BadInputError } from "../../../shared/errors.js";
import type { Deploy, Report } from "../../../shared/protocol/messages.js";

const deploy = (deploymentId: string, version: string, app = "web"): Deploy => ({
  type: "deploy",
  v: 1,
  deploymentId,
  app,
  release: {
    id: `r-${version}`,
    app,
    version,
    manifest: `version: "${version}"\n`,
    source: { type: "hub", sha256: "a".repeat(64) },
  },
  rollback: false,
});
const report = (deploymentId: string): Report => ({
  type: "report",
  v: 1,
  reportId: randomUUID(),
  deploymentId,
  app: "web",
  outcome: "succeeded",
  fromVersion: "1.0.0",
  toVersion: "2.0.0",
  steps: [],
});

describe("DesiredStateStore", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-desired-"));
    file = join(dir, "daemon", "desired.json");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("persists an instruction before work so a new process (a restarted agent) finds it unfinished", async () => {
    await new DesiredStateStore(file).put(deploy("d1", "2.0.0"), new Date("2026-01-01T00:00:00Z"));
    const reopened = new DesiredStateStore(file);
    expect(await reopened.get("web")).toMatchObject({
      instruction: { deploymentId: "d1" },
      attempts: 0,
      receivedAt: "2026-01-01T00:00:00.000Z",
    });
    expect((await reopened.get("web"))?.finished).toBeUndefined();
    // The release's manifest may carry webhook URLs and headers: no other user reads the file.
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("counts attempts across instances, takes back an abandoned one, and resets for a new instruction", async () => {
    const store = new DesiredStateStore(file);
    await store.put(deploy("d1", "2.0.0"), new Date());
    expect(await store.startAttempt("web", "d1")).toBe(1);
    expect(await store.startAttempt("web", "d1")).toBe(2);
    await store.abandonAttempt("web", "d1");
    expect((await new DesiredStateStore(file).get("web"))?.attempts).toBe(1);
    // A restarted agent continues the count: a crash loop ends after max attempts.
    expect(await new DesiredStateStore(file).startAttempt("web", "d1")).toBe(2);
    // Re-delivering the same instruction changes nothing; a new one replaces it.
    const restarted = new DesiredStateStore(file);
    await restarted.put(deploy("d1", "2.0.0"), new Date());
    expect((await restarted.get("web"))?.attempts).toBe(2);
    await restarted.put(deploy("d2", "3.0.0"), new Date());
    expect(await restarted.get("web")).toMatchObject({ instruction: { deploymentId: "d2" }, attempts: 0 });
  });

  it("remembers finished instructions by id, also after the app moved on to a newer one", async () => {
    const store = new DesiredStateStore(file);
    const first = report("d1");
    await store.put(deploy("d1", "2.0.0"), new Date());
    await store.markFinished("web", "d1", first, new Date());
    await store.put(deploy("d2", "3.0.0"), new Date());
    const reopened = new DesiredStateStore(file);
    expect((await reopened.finished("d1"))?.report.reportId).toBe(first.reportId);
    expect(await reopened.finished("d2")).toBeUndefined();
    expect((await reopened.get("web"))?.finished).toBeUndefined();
    // The release's manifest may carry webhook URLs and headers: no other user reads the file.
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("serializes concurrent changes: instructions for two apps arriving together are both kept", async () => {
    const store = new DesiredStateStore(file);
    await Promise.all([
      store.put(deploy("a1", "2.0.0", "a"), new Date()),
      store.put(deploy("b1", "2.0.0", "b"), new Date()),
    ]);
    expect(Object.keys(await new DesiredStateStore(file).all()).sort()).toEqual(["a", "b"]);
    expect(JSON.parse(await readFile(file, "utf8")).apps.a.instruction.deploymentId).toBe("a1");
  });

  it("refuses a corrupt file as bad input instead of forgetting what the hub asked", async () => {
    await new DesiredStateStore(file).put(deploy("d1", "2.0.0"), new Date());
    await writeFile(file, "{ not json");
    const error = await new DesiredStateStore(file).all().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not valid JSON: `),
    );
  });

  it("names the key of a file that is JSON of the wrong shape, in our words", async () => {
    await new DesiredStateStore(file).put(deploy("d1", "2.0.0"), new Date());
    await writeFile(file, JSON.stringify({ apps: { web: { instruction: { deploymentId: 5 } } } }));
    const error = await new DesiredStateStore(file).all().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    const message = (error as Error).message;
    expect(message).toContain(file);
    expect(message).toMatch(/apps\.web\.instruction\.\w+/);
    expect(message).not.toMatch(/Invalid input|expected .*, received/);
  });
});
