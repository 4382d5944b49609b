/**
 * Reports the hub had not acknowledged, the host's clock set back between them (NTP correcting a
 * clock that ran ahead, a VM restored from a snapshot). The outbox named its files by wall time
 * and resent them in that order, so at the next connect the later update's report went out first
 * and the earlier one last: the hub applies reports in order, the last for an app wins, and the
 * fleet showed the host on 2.0.0 while it ran 3.0.0. Now they go out in the order they were made.
 * Real daemon, real WebSocket peer that withholds its acks, real HTTP downloads; only the daemon's
 * `Date.now` is set back.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AgentDaemon } from "../../../agent/daemon/agent-daemon.js";
import { memoryLogger } from "../../../shared/log.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { ScriptedHub } from "./scripted-hub.js";
import { installedHost, startTestDaemon } from "./test-daemon.js";

describe("unacknowledged reports when the clock was set back between them", () => {
  let dir: string;
  let hub: ScriptedHub;
  let daemon: AgentDaemon | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-outbox-clock-"));
    hub = await ScriptedHub.start();
    daemon = await startTestDaemon(await installedHost(dir, hub.url), memoryLogger());
  }, 60_000);

  afterAll(async () => {
    vi.restoreAllMocks();
    await daemon?.stop();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("are sent again in the order they were made", { timeout: 60_000 }, async () => {
    const v2 = join(dir, "releases", "2.0.0");
    await writeRelease(v2, { version: "2.0.0" });
    await hub.deployTarball(v2, APP, "2.0.0");
    await hub.until("the 2.0.0 report", () => hub.messages("report").length === 1);

    // An hour set back, as NTP steps a clock that ran ahead.
    const wall = Date.now.bind(Date);
    vi.spyOn(Date, "now").mockImplementation(() => wall() - 3_600_000);
    const v3 = join(dir, "releases", "3.0.0");
    await writeRelease(v3, { version: "3.0.0" });
    const sha256 = await hub.serve("/3.0.0.tar.gz", await packed(v3));
    hub.send({
      type: "deploy",
      v: 1,
      deploymentId: "d-3",
      app: APP,
      rollback: false,
      release: {
        id: "r-3",
        app: APP,
        version: "3.0.0",
        manifest: await readFile(join(v3, "update-manifest.yaml"), "utf8"),
        source: { type: "http", url: `${hub.url}/3.0.0.tar.gz`, sha256 },
      },
    });
    await hub.until("the 3.0.0 report", () => hub.messages("report").some((r) => r.toVersion === "3.0.0"));

    // The hub restarts: neither report was acknowledged, so both go out again at the next connect.
    const before = hub.received.length;
    hub.disconnect();
    await hub.until("both reports again", () => resentAfter(before).length >= 2);
    expect(resentAfter(before).map((r) => r.toVersion)).toEqual(["2.0.0", "3.0.0"]);
    expect(await readFile(join(dir, "app", "app.txt"), "utf8")).toBe("3.0.0\n");
  });

  /** The reports received after the agent's next hello following message `from`. */
  function resentAfter(from: number) {
    const after = hub.received.slice(from);
    const hello = after.findIndex((m) => m.type === "hello");
    if (hello < 0) return [];
    return after.slice(hello + 1).flatMap((m) => (m.type === "report" ? [m] : []));
  }

  async function packed(tree: string): Promise<string> {
    await createTar({ gzip: true, file: `${tree}.tar.gz`, cwd: tree, portable: true }, ["."]);
    return `${tree}.tar.gz`;
  }
});
