/**
 * A token renewal the agent cannot save (its state directory full: a real 64 KiB tmpfs). The agent
 * dropped the renewal with "handling a hub message failed" and went on presenting its first token:
 * the hub, which had moved the connection to the renewal, kept it open past that token's expiry,
 * and the next reconnect (a hub restart here) was refused for good, "jwt expired", though the
 * agent had been handed a valid token. Now the renewal is used at once, saved or not, and the
 * unsaved one is said at WARNING. Real hub, real agent, real `ship-hub token` CLI.
 */
import { spawnSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { runHubCli } from "../support/hub-cli.js";
import { fleetForFile } from "./fleet-for-file.js";

describe.skipIf(process.getuid?.() !== 0)(
  "a token renewal the agent cannot save (real hub, real agent)",
  () => {
    const started = fleetForFile({ agents: 1, hubOnly: true });
    let mountedAt: string | undefined;
    afterAll(async () => {
      await started.fleet.stopAgent(0, "SIGKILL");
      if (mountedAt !== undefined) spawnSync("umount", ["-l", mountedAt]);
    });

    it("is used at once and said at WARNING; the agent reconnects with it after its first token expired", {
      timeout: 120_000,
    }, async () => {
      const { fleet } = started;
      const agent = fleet.agent(0);
      expect(await fleet.stopAgent(0)).toBe(0);
      const minted = await runHubCli(fleet.dir, [
        "token",
        "create",
        "--config",
        "hub.toml",
        "--role",
        "agent",
        "--agent",
        agent.id,
        "--ttl",
        "8s",
      ]);
      expect(minted.code).toBe(0);
      const token = minted.stdout.trim();
      const { exp } = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
        exp: number;
      };
      await writeFile(join(agent.root, "token"), `${token}\n`);
      // The daemon's directory full: nothing can be written there, the renewal included.
      const daemonDir = join(agent.root, "state", "daemon");
      await rm(daemonDir, { recursive: true, force: true });
      await mkdir(daemonDir, { recursive: true });
      const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", daemonDir]);
      expect(mount.status, mount.stderr.toString()).toBe(0);
      mountedAt = daemonDir;
      spawnSync("dd", ["if=/dev/zero", `of=${join(daemonDir, "fill")}`, "bs=4k"]);

      const from = (await readFile(join(agent.root, "agent.log"), "utf8")).length;
      const agentLog = async () => (await readFile(join(agent.root, "agent.log"), "utf8")).slice(from);
      await fleet.startAgent(0);
      const online = async () => (await fleet.api<{ online: boolean }>("GET", `/agents/${agent.id}`)).online;
      await fleet.waitFor("agent online", online, 30_000);
      // Taken ("the hub renewed …"), or dropped as it used to be ("handling a hub message failed").
      await fleet.waitFor("a renewal sent", async () =>
        /renewed this agent's token|handling a hub message failed/.test(await agentLog()),
      );
      // Past the first token's expiry; the connection lives on the renewals meanwhile.
      await sleep(Math.max(0, exp * 1000 - Date.now() + 500));
      await fleet.stopHub();
      await fleet.startHub();
      await fleet.waitFor("agent online again after the first token expired", online, 30_000);
      const said = (await agentLog()).split("\n").filter((l) => l.includes("could not be saved"));
      expect(said.length).toBeGreaterThan(0);
      expect(said[0]).toContain('"level":40');
      expect(said[0]).toContain("ENOSPC");
      expect(await agentLog()).not.toContain("handling a hub message failed");
    });
  },
);
