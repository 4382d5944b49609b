/**
 * A command that starts something outside its process group without redirecting its output
 * (`setsid ./server &`, the README's way to leave the group, with the `>log 2>&1` forgotten) left
 * that process holding ship's end of the command's pipes. ship said "updated" and then never
 * exited while it ran: `ship.service` (oneshot) stayed active, so no later timer run started.
 * The command's result stands once it has exited; ship stops reading its pipes then.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe.skipIf(process.platform !== "linux")("a command that leaves a process outside its group", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(async () => {
    const pids = await readFile(join(app.root, "escaped"), "utf8").catch(() => "");
    for (const pid of pids.split("\n").filter((line) => line !== "")) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone already
      }
    }
    await app.cleanup();
  });

  it("does not keep ship from exiting: the hook's and the health check's results stand", async () => {
    const leaveGroup = (what: string) =>
      `setsid sh -c 'echo $$ >> ${app.root}/escaped; echo ${what} is up; exec sleep 600' & echo started`;
    await app.release(
      "v1",
      `version: "1.0.0"\nhooks:\n  post_update:\n    - "${leaveGroup("server")}"\n` +
        `post_update_tests:\n  - name: probe\n    command: "${leaveGroup("probe")}"\n`,
    );
    const run = await runShip(["--config", app.config, "--force"], { timeoutMs: 60_000 });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("installed 1.0.0");
    expect((await app.state()).sources.myapp).toMatchObject({ current_version: "1.0.0" });
    // Both escaped processes were started (and are ended by afterEach, not by ship: they left its group).
    expect((await readFile(join(app.root, "escaped"), "utf8")).trim().split("\n")).toHaveLength(2);
  }, 120_000);
});
