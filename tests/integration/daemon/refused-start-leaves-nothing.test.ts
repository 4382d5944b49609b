/**
 * `ship agent` refused for bad input (exit 2) leaves ship's directories as it found them, as a
 * refused `ship` run does (README "Nothing changed on exit 2"): on a host that never ran ship, a
 * token file that is missing, empty, of two lines or another role's, and a desired-state file that
 * is not JSON, each left the log file and its directory (and var/locks/) behind. Real CLI, nothing
 * listening where the hub would be.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../support/servers/free-port.js";
import { runAgentBriefly } from "../../support/ship-cli.js";
import { treeListing } from "../../support/tree-listing.js";

const jwt = (claims: Record<string, string>) =>
  ["e30", Buffer.from(JSON.stringify(claims)).toString("base64url"), "sig"].join(".");

describe("a refused ship agent start (real CLI)", () => {
  let root: string;
  /** The watched tree: the app, the state directory, backups, work and the log's directory. */
  let host: string;
  let config: string;
  let token: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-agent-refused-"));
    host = join(root, "host");
    await mkdir(join(host, "app"), { recursive: true });
    token = join(root, "hub.token");
    config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${host}/var/state.json"\nbackup_dir = "${host}/backups"\nwork_dir = "${host}/work"\n` +
        `[general.logging]\nfile = "${host}/log/ship.log"\n\n` +
        `[hub]\nurl = "http://127.0.0.1:${await freePort()}"\ntoken_file = "${token}"\nagent_id = "a1"\n\n` +
        `[sources.web]\ntype = "hub"\napp_dir = "${host}/app"\n`,
      { mode: 0o600 },
    );
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function expectRefused(says: RegExp): Promise<void> {
    const before = await treeListing(host);
    const run = await runAgentBriefly(config);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(says);
    expect(await treeListing(host)).toEqual(before);
  }

  it.each([
    ["missing", undefined, /hub\.token_file: cannot read .*: no such file or directory/],
    ["empty", "", /hub\.token_file: .* is empty/],
    ["of two lines", `${jwt({ sub: "a1", role: "agent" })}\nx.y.z\n`, /holds 2 lines/],
    ["an operator's", `${jwt({ sub: "alice", role: "operator" })}\n`, /holds an operator token/],
  ])("a token file %s: exit 2, no log file, directory or lock left", async (_name, text, says) => {
    if (text !== undefined) await writeFile(token, text, { mode: 0o600 });
    await expectRefused(says);
  });

  it("a desired-state file that is not JSON, refused after the lock and the log were opened", async () => {
    await writeFile(token, `${jwt({ sub: "a1", role: "agent" })}\n`, { mode: 0o600 });
    await mkdir(join(host, "var/daemon"), { recursive: true });
    await writeFile(join(host, "var/daemon/desired.json"), "{broken", { mode: 0o600 });
    await expectRefused(/desired\.json is not valid JSON/);
  });
});
