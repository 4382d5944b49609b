/**
 * A hub rollback whose backup cannot be restored. A backup of another build of the installed version (copied from another host
 * or state directory) sits among the host's backups. The daemon judged the newest backup by versions
 * only: it took the other build's for its own, the restore refused it ("move … out of the backup
 * directory") and the hub heard a failed rollback — where its own backup was there to restore, or,
 * with that one gone, the older release could be downloaded as for any backup that is missing.
 * Now it judges the newest backup as `ship --rollback` judges a chain, release id included; and a
 * backup its restore refuses before anything moves (damaged) is passed over for the download too.
 */
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listBackups } from "../../../agent/backup/backup-store.js";
import { carryOut } from "../../../agent/daemon/carry-out.js";
import { readState } from "../../../agent/state/state-file.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import type { DeployRelease } from "../../../shared/protocol/messages.js";
import { fileServerForFile } from "../../support/servers/file-server.js";

describe("a hub rollback beside another build's backup", () => {
  const server = fileServerForFile();
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-daemon-gone-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const config = () =>
    AgentConfig.parse({
      general: { state_file: join(root, "state", "state.json"), backup_dir: join(root, "state", "backups") },
      sources: { web: { type: "hub", app_dir: join(root, "app") } },
    });

  async function release(version: string, build = "a"): Promise<DeployRelease> {
    const tree = join(root, "trees", `${version}-${build}`);
    await mkdir(tree, { recursive: true });
    await writeFile(join(tree, "update-manifest.yaml"), `version: "${version}"\n`);
    await writeFile(join(tree, "app.txt"), `${version} ${build}\n`);
    const file = join(root, "trees", `${version}-${build}.tar.gz`);
    await createTar({ gzip: true, file, cwd: tree, portable: true }, ["."]);
    const body = await readFile(file);
    const path = `/files/web-${version}-${build}.tar.gz`;
    server.routes.set(path, { body });
    return {
      id: `r-${version}-${build}`,
      app: "web",
      version,
      manifest: `version: "${version}"\n`,
      source: {
        type: "http",
        url: `${server.url}${path}`,
        sha256: createHash("sha256").update(body).digest("hex"),
      },
    };
  }

  const run = (r: DeployRelease, rollback = false) =>
    carryOut({
      config: config(),
      instruction: {
        type: "deploy",
        v: 1,
        deploymentId: `d-${r.id}${rollback ? "~rb" : ""}`,
        app: "web",
        rollback,
        release: r,
      },
      hubUrl: server.url,
      token: "t",
      log: memoryLogger(),
      progress: () => undefined,
      retryDelayMs: 0,
      delayScale: 0,
    });

  async function installBoth() {
    await mkdir(join(root, "app"));
    const one = await release("1.0.0");
    const first = await run(one);
    expect(first).toMatchObject({ kind: "report", report: { outcome: "succeeded" } });
    expect(await run(await release("2.0.0"))).toMatchObject({
      kind: "report",
      report: { outcome: "succeeded" },
    });
    return one;
  }

  it("downloads the older release, not another build's backup, when that backup took the place of its own", async () => {
    const one = await installBoth();
    const [newest] = await listBackups(join(root, "state", "backups"), "web");
    const metaFile = join(String(newest?.path), "meta.json");
    const meta = JSON.parse(await readFile(metaFile, "utf8")) as Record<string, unknown>;
    await writeFile(metaFile, JSON.stringify({ ...meta, toReleaseId: "r-2.0.0-other-host" }));
    const result = await run(one, true);
    // Downloaded (a fetch step), the other build's backup left where it was, unrestored.
    expect(result).toMatchObject({
      kind: "report",
      report: { outcome: "succeeded", toVersion: "1.0.0" },
    });
    expect(result.kind === "report" && result.report.steps[0]).toMatchObject({ name: "fetch", ok: true });
    expect(await readFile(join(root, "app", "app.txt"), "utf8")).toBe("1.0.0 a\n");
    expect((await listBackups(join(root, "state", "backups"), "web")).map((b) => b.id)).toContain(newest?.id);
  }, 60_000);

  it("restores this host's own backup when another build's, copied in later, sorts newer", async () => {
    const one = await installBoth();
    const [own] = await listBackups(join(root, "state", "backups"), "web");
    const copy = `web-29991231T000000Z-1`;
    await cp(String(own?.path), join(root, "state", "backups", "web", copy), { recursive: true });
    const metaFile = join(root, "state", "backups", "web", copy, "meta.json");
    const meta = JSON.parse(await readFile(metaFile, "utf8")) as Record<string, unknown>;
    const created = new Date(Date.now() + 60_000).toISOString();
    await writeFile(
      metaFile,
      JSON.stringify({ ...meta, id: copy, created, toReleaseId: "r-2.0.0-other-host" }),
    );
    // Nothing to download: only the backup can bring 1.0.0 back.
    server.routes.delete(`/files/web-${one.version}-a.tar.gz`);
    const result = await run(one, true);
    expect(result).toMatchObject({
      kind: "report",
      report: { outcome: "succeeded", toVersion: "1.0.0", steps: [{ name: "restore backup", ok: true }] },
    });
    expect(await readFile(join(root, "app", "app.txt"), "utf8")).toBe("1.0.0 a\n");
  }, 60_000);

  // The refusal told the hub's operator to move the backup out of the backup directory, on a host
  // they may not reach; the hub has the release.
  it("downloads the older release when its own backup is damaged, and says why in the report", async () => {
    const one = await installBoth();
    const [own] = await listBackups(join(root, "state", "backups"), "web");
    await rm(join(String(own?.path), "files", "app.txt"));
    const result = await run(one, true);
    expect(result).toMatchObject({ kind: "report", report: { outcome: "succeeded", toVersion: "1.0.0" } });
    const report = result.kind === "report" ? result.report : undefined;
    expect(report?.steps[0]).toMatchObject({ name: "fetch", ok: true });
    expect(report?.warnings?.[0]).toContain(
      `the newest backup was not restored, the release was downloaded instead: ${own?.path} is damaged, its saved copy of app.txt is missing`,
    );
    expect(await readFile(join(root, "app", "app.txt"), "utf8")).toBe("1.0.0 a\n");
    expect((await readState(join(root, "state", "state.json"))).sources.web?.current_version).toBe("1.0.0");
  }, 60_000);
});
