/**
 * A command line is readable by every local user (`ps`, /proc/PID/cmdline) for as long as the
 * process runs, which for `ship-hub serve` is its whole life: a database password given there is
 * warned of, naming the places that keep it private. Real CLI (dist), a PostgreSQL port nobody
 * listens on (the warning comes before the connection).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";

let root: string;
beforeAll(async () => {
  requireHubBin();
  root = await mkdtemp(join(tmpdir(), "ship-hub-argv-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const WARNING =
  "ship-hub: warning: --database-url holds a password, which every local user can read in the process list (ps) while ship-hub runs; set SHIP_HUB_DATABASE_URL or hub.toml database_url (chmod 600) instead";

describe("a database password on ship-hub's command line", () => {
  it("is warned of, in the URL or as its password parameter, and never echoed", async () => {
    for (const url of [
      "postgres://ship:pw-in-argv@127.0.0.1:1/ship",
      "postgres://ship@127.0.0.1:1/ship?password=pw-in-argv",
    ]) {
      const run = await runHubCli(root, ["token", "list", "--database-url", url]);
      expect(run.code).toBe(1);
      expect(run.stderr.split("\n")[0]).toBe(WARNING);
      expect(run.stderr).not.toContain("pw-in-argv");
    }
  });

  it("is not warned of without a password, nor when the URL comes from the environment", async () => {
    const plain = await runHubCli(root, [
      "token",
      "list",
      "--database-url",
      "postgres://ship@127.0.0.1:1/ship",
    ]);
    expect(plain.stderr).not.toContain("warning");
    const env = await runHubCli(root, ["token", "list"], {
      SHIP_HUB_DATABASE_URL: "postgres://ship:pw-in-env@127.0.0.1:1/ship",
    });
    expect(env.code).toBe(1);
    expect(env.stderr).not.toContain("warning");
  });
});

describe("an operator token on ship-hub's command line", () => {
  it("--help of the API commands says to prefer --token-file or $SHIP_HUB_TOKEN", async () => {
    for (const args of [["rollout", "list"], ["agents"]]) {
      const run = await runHubCli(root, [...args, "--help"]);
      expect(run.code).toBe(0);
      // commander wraps help lines: read it as one line.
      expect(run.stdout.replace(/\s+/g, " ")).toContain(
        "--token <jwt> operator token (default $SHIP_HUB_TOKEN; prefer --token-file or the variable: arguments show in ps)",
      );
    }
  });
});
