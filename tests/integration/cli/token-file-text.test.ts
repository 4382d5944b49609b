/**
 * `[hub] token_file` holding two tokens (the new one written below the old, `>>` for `>`): `ship
 * agent` died with "internal error: Invalid character in header content", exit 1, and its unit
 * restarted it every 5 s for ever. Now exit 2 (which the unit does not restart) with one line naming
 * the key, the file and the way out. Real CLI, nothing listening where the hub would be.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../support/servers/free-port.js";
import { runAgentBriefly, runShip } from "../../support/ship-cli.js";

const jwt = [
  "e30",
  Buffer.from(JSON.stringify({ sub: "a1", role: "agent" })).toString("base64url"),
  "sig",
].join(".");

describe("a token file of two lines (real CLI)", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-token-text-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("exits 2 naming hub.token_file and the file, not an internal error", async () => {
    const token = join(root, "hub.token");
    await writeFile(token, `${jwt}\n${jwt}\n`, { mode: 0o600 });
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\n\n[hub]\nurl = "http://127.0.0.1:${await freePort()}"\ntoken_file = "${token}"\nagent_id = "a1"\n\n[sources.web]\ntype = "hub"\napp_dir = "${root}/web"\n`,
      { mode: 0o600 },
    );
    const run = await runAgentBriefly(config);
    expect(run.stderr).toBe(
      `ship: ${config}:6:1 hub.token_file: ${token} holds 2 lines: write the one token alone, as ship-hub token create prints it (a new token replaces the old one, > not >>)\n`,
    );
    expect(run.code).toBe(2);
  });

  it("ship release publish --token-file of two lines: exit 2 naming the flag, not 'cannot reach the hub'", async () => {
    const token = join(root, "ci.token");
    await writeFile(token, `${jwt}\n${jwt}\n`, { mode: 0o600 });
    await writeFile(join(root, "app.tar.gz"), "");
    const run = await runShip([
      "release",
      "publish",
      "--hub",
      `http://127.0.0.1:${await freePort()}`,
      "--token-file",
      token,
      "--app",
      "web",
      "--version",
      "1.0.0",
      "--artifact",
      join(root, "app.tar.gz"),
    ]);
    expect(run.stderr).toBe(
      `ship release publish: --token-file ${token} holds 2 lines: write the one token alone, as ship-hub token create prints it (a new token replaces the old one, > not >>)\n`,
    );
    expect(run.code).toBe(2);
  });
});
