/**
 * Hub mode: a release that starts shipping a path where the host keeps a file of its own (ship never
 * installed it) replaces it, keeping it in the backup. The agent's report to the hub says so in its
 * `warnings`, as `ship` prints it; before, the hub heard nothing (the protocol had no place for it).
 */
import { link, lstat, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

interface AgentDetail {
  reports: {
    payload: { outcome?: string; toVersion?: string; warnings?: string[]; steps?: { name: string }[] };
  }[];
}

describe("a hub release over a host's own file (real hub, real agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1 });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("the report's warnings name the file and where its copy is", { timeout: 90_000 }, async () => {
    await writeFile(join(fleet.agent(0).appDir, "local.conf"), "this host's own\n");
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: await fleet.publish({ version: "2.0.0", files: { "local.conf": "release default\n" } }),
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
      autoAdvance: true,
    });
    await fleet.waitFor(`rollout ${id} done`, async () => (await fleet.rollout(id)).state === "completed");
    const detail = await fleet.api<AgentDetail>("GET", "/agents/agent-1");
    const report = detail.reports.find((r) => r.payload.toVersion === "2.0.0");
    expect(report?.payload.outcome).toBe("succeeded");
    expect(report?.payload.warnings).toEqual([
      expect.stringMatching(
        /^replaced 1 file\(s\) ship had not installed: local\.conf; their previous versions are in \S+\/files /,
      ),
    ]);
  });

  // ship renames the new file over the app's name: a name of the old file elsewhere keeps the old
  // content. The hub heard nothing of it; the report's warnings now name the file.
  it("a replaced file with another name (hard link): the report's warnings say the other name keeps the old content", {
    timeout: 90_000,
  }, async () => {
    const appFile = join(fleet.agent(0).appDir, "local.conf");
    const other = join(dirname(fleet.agent(0).appDir), "local.conf.link");
    await link(appFile, other);
    expect((await lstat(appFile)).nlink).toBe(2);
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: await fleet.publish({ version: "3.0.0", files: { "local.conf": "release 3\n" } }),
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
      autoAdvance: true,
    });
    await fleet.waitFor(`rollout ${id} done`, async () => (await fleet.rollout(id)).state === "completed");
    expect(await readFile(other, "utf8")).toBe("release default\n");
    const detail = await fleet.api<AgentDetail>("GET", "/agents/agent-1");
    const report = detail.reports.find((r) => r.payload.toVersion === "3.0.0");
    expect(report?.payload.outcome).toBe("succeeded");
    expect(report?.payload.warnings).toEqual([
      expect.stringContaining(
        "so the other names keep the old content: local.conf had 2 names (1 elsewhere)",
      ),
    ]);
  });

  // The hub's rollback restores the newest backup: it renames 2.0.0's file over the app's name, and
  // a name the operator gave 3.0.0's file keeps 3.0.0's content. `ship --rollback` said so; the
  // daemon's report named paths left alone only, so the hub heard nothing.
  it("a hub rollback over a file with another name: the report's warnings say the other name keeps the undone content", {
    timeout: 90_000,
  }, async () => {
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: await fleet.publish({ version: "4.0.0", files: { "local.conf": "release 4\n" } }),
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 1 },
      autoAdvance: true,
    });
    await fleet.waitFor(`rollout ${id} done`, async () => (await fleet.rollout(id)).state === "completed");
    const appFile = join(fleet.agent(0).appDir, "local.conf");
    const other = join(dirname(fleet.agent(0).appDir), "local.conf.4");
    await link(appFile, other);
    await fleet.api("POST", `/rollouts/${id}/abort`, { rollback: true });
    await fleet.waitFor(
      "agent-1 rolled back",
      async () => (await fleet.rollout(id)).waves[0]?.agents[0]?.state === "rolled_back",
    );
    expect(await readFile(appFile, "utf8")).toBe("release 3\n");
    expect(await readFile(other, "utf8")).toBe("release 4\n");
    const detail = await fleet.api<AgentDetail>("GET", "/agents/agent-1");
    const report = detail.reports.find((r) => r.payload.steps?.some((s) => s.name === "restore backup"));
    expect(report?.payload).toMatchObject({ outcome: "succeeded", toVersion: "3.0.0" });
    expect(report?.payload.warnings).toEqual([
      expect.stringContaining(
        "so the other names keep the undone version's content: local.conf had 2 names (1 other); ln -f them",
      ),
    ]);
  });
});
