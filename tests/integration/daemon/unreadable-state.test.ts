/**
 * `ship agent` (or `ship`) run once as root leaves the agent's records root's, mode 600; the
 * service runs as user ship. The start then failed with "cannot open …: permission denied", exit
 * 1, and systemd started it again every 5 s for ever (or, for the state file, the recovery said the
 * app needed a person). Now: exit 2, one line naming the file, who owns it and the chown that
 * fixes it. Real CLI run as nobody (so as root only); the hub is never reached.
 */
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runNodeScript, SHIP_BIN } from "../../support/ship-cli.js";

const NOBODY = 65534;

describe.skipIf(process.getuid?.() !== 0)("ship agent and records only root can read", () => {
  let root: string;
  let config: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-unreadable-state-"));
    await chmod(root, 0o755);
    for (const dir of ["app", "var", "var/daemon"]) {
      await mkdir(join(root, dir), { recursive: true });
      await chown(join(root, dir), NOBODY, NOBODY);
    }
    await writeFile(join(root, "hub.token"), "token\n", { mode: 0o600 });
    await chown(join(root, "hub.token"), NOBODY, NOBODY);
    config = join(root, "ship.toml");
    await writeFile(
      config,
      [
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"`,
        `[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${root}/hub.token"\nagent_id = "a1"`,
        `[sources.web]\ntype = "hub"\napp_dir = "${root}/app"\n`,
      ].join("\n\n"),
      { mode: 0o644 },
    );
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ["daemon/desired.json", '{"apps":{}}\n'],
    ["state.json", '{"sources":{}}\n'],
    ["daemon/hub.token", "renewed-token\n"],
  ])("var/%s owned by root, mode 600: exit 2 naming it and the chown", async (name, content) => {
    const file = join(root, "var", name);
    await writeFile(file, content, { mode: 0o600 });
    const run = await runNodeScript(SHIP_BIN, ["agent", "--config", config], {
      user: { uid: NOBODY, gid: NOBODY },
      timeoutMs: 15_000,
    });
    // Before: exit 1 "cannot open …/desired.json: permission denied (EACCES)", restarted by the unit
    // for ever; for the state file, a recovery "failed" and an agent that ran on.
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toBe(
      `ship: ${config}:2:1 general.state_file: ${file} cannot be read by nobody, the user this agent runs as: permission denied (EACCES); root owns it (left by a ship run as root?): chown -R nobody: ${root}/var`,
    );
  });
});
