/**
 * `systemctl stop` (or `restart`) of ship-agent while the release downloads: SIGTERM let the
 * running instruction finish, the download included, so the stop waited on a slow artifact server
 * up to max_download_seconds, past the unit's TimeoutStopSec, whose SIGKILL then counted as an
 * interrupted attempt (three and the agent gave the release up). Nothing is changed on the host
 * before the release is whole: the download is dropped, the agent exits 0 at once, and the next
 * start carries the instruction out. Real hub, real agent, a real HTTP server that trickles.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create as createTar } from "tar";
import { afterAll, describe, expect, it } from "vitest";
import { APP, writeRelease } from "./fleet.js";
import { fleetForFile } from "./fleet-for-file.js";

describe("ship agent stopped while its release downloads (real hub, real agent)", () => {
  const started = fleetForFile({ agents: 1, hubOnly: true });
  let server: Server | undefined;
  /** While true, the artifact is sent a byte a second after its first bytes. */
  let trickle = true;
  let sent = 0;
  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it("drops the download and exits 0 at once; the next start installs the release", {
    timeout: 120_000,
  }, async () => {
    const { fleet } = started;
    const tree = join(fleet.dir, "releases", "2.0.0");
    await writeRelease(tree, { version: "2.0.0" });
    await createTar({ gzip: true, file: `${tree}.tar.gz`, cwd: tree, portable: true }, ["."]);
    const body = await readFile(`${tree}.tar.gz`);
    const trickling = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/gzip", "content-length": body.length });
      if (!trickle) return res.end(body);
      let at = 32;
      res.write(body.subarray(0, at));
      sent = at;
      const timer = setInterval(() => {
        if (at >= body.length - 1) return; // never the last byte while trickling
        res.write(body.subarray(at, at + 1));
        at += 1;
        sent = at;
      }, 1000);
      res.on("close", () => clearInterval(timer));
    });
    server = trickling;
    await new Promise<void>((ok) => trickling.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(trickling.address() as AddressInfo).port}/sample-2.0.0.tar.gz`;
    const sha256 = createHash("sha256").update(body).digest("hex");
    const { id: release } = await fleet.api<{ id: string }>(
      "POST",
      "/releases",
      {
        app: APP,
        version: "2.0.0",
        manifest: await readFile(join(tree, "update-manifest.yaml"), "utf8"),
        source: { type: "http", url, sha256 },
      },
      fleet.ci,
    );
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "one", agents: ["agent-1"] }],
    });
    await fleet.waitFor("the download under way", async () => sent > 33);

    const agent = fleet.agent(0).process;
    if (agent === undefined) throw new Error("agent-1 is not running");
    const exited = new Promise<string>((ok) =>
      agent.once("exit", (code, signal) => ok(`exit ${code} ${signal}`)),
    );
    agent.kill("SIGTERM");
    // It waited for the whole download, whose last byte never comes while trickling. The exit is
    // awaited itself; the bound is the fleet's wait for an event (45 s): 10 s was within reach of a
    // loaded machine.
    expect(await Promise.race([exited, sleep(45_000, "still running 45 s after SIGTERM")])).toBe(
      "exit 0 null",
    );
    fleet.agent(0).process = undefined;
    const log = await readFile(join(fleet.agent(0).root, "agent.log"), "utf8");
    expect(log).toContain("stopped before the update changed anything");
    expect(log).not.toContain('"level":50');
    // Kept for the next start, and not counted as an attempt.
    const desired = JSON.parse(
      await readFile(join(fleet.agent(0).root, "state", "daemon", "desired.json"), "utf8"),
    ) as { apps: Record<string, { attempts: number; finished?: unknown }> };
    expect(desired.apps[APP]).toMatchObject({ attempts: 0 });
    expect(desired.apps[APP]?.finished).toBeUndefined();
    expect(await fleet.appVersion(0)).toBe("1.0.0");

    trickle = false;
    await fleet.startAgent(0);
    await fleet.waitFor("the rollout settled", async () => (await fleet.rollout(id)).state !== "running");
    expect((await fleet.rollout(id)).counts).toEqual({ succeeded: 1 });
    expect(await fleet.appVersion(0)).toBe("2.0.0");
  });
});
