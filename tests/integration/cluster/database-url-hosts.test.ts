/**
 * A database URL naming several servers (libpq's `postgresql://db1:5432,db2:5432/ship`), and a
 * standby named by mistake, against a real primary and a real hot standby of it.
 *
 * Before: several hosts were refused (exit 2, "name a single host (a proxy or a virtual IP…)"),
 * though the driver tries them in turn; and a standby was exit 1 "cannot execute CREATE TABLE in a
 * read-only transaction (25006)", which systemd started again every 5 s for ever. Now a list is
 * used, the primary found whatever its place in it; a standby alone is exit 2 saying what to
 * write; a list with no primary in it is exit 1 saying so (a failover may be under way): at once
 * when each server refused or is a standby, where it used to wait 25 s (the driver goes round the
 * list for ever) and then say "each is a standby or did not answer" of servers that had refused.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { freePort } from "../../support/servers/free-port.js";
import {
  hasPostgres,
  type PostgresServer,
  startPostgres,
  startStandby,
} from "../../support/servers/postgres.js";
import { CLUSTER_SECRET } from "./in-process-hubs.js";

describe.skipIf(!hasPostgres())("database URLs of several hosts, and standbys", () => {
  let primary: PostgresServer;
  let standby: PostgresServer;
  let dir: string;
  let db: string;
  beforeAll(async () => {
    requireHubBin();
    primary = await startPostgres();
    // Before the standby is made, so it holds the database too.
    db = new URL(await primary.createDatabase()).pathname;
    standby = await startStandby(primary);
    dir = await mkdtemp(join(tmpdir(), "ship-dburl-hosts-"));
  }, 120_000);
  afterAll(async () => {
    await standby?.stop();
    await primary?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const at = (...ports: number[]) => `postgres://ship@${ports.map((p) => `127.0.0.1:${p}`).join(",")}${db}`;
  const hub = (url: string, args: string[], timeoutMs?: number) =>
    runHubCli(dir, args, { SHIP_HUB_DATABASE_URL: url, SHIP_HUB_SECRET: CLUSTER_SECRET }, timeoutMs);

  it("several hosts: the primary is used wherever it is in the list", async () => {
    // Each command finds the primary for itself (a standby refuses the create, and the list's start).
    const created = await hub(at(standby.port, primary.port), [
      "token",
      "create",
      "--role",
      "operator",
      "--name",
      "multi",
    ]);
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: "" });
    const listed = await hub(at(primary.port, standby.port), ["token", "list"]);
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: "" });
    expect(listed.stdout).toContain("multi");
  }, 60_000);

  it("?port= with one port per host, as libpq reads it", async () => {
    const url = `postgres://ship@127.0.0.1,127.0.0.1${db}?port=${standby.port},${primary.port}`;
    const listed = await hub(url, ["token", "list"]);
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: "" });
  }, 60_000);

  it("a standby alone: exit 2 saying it is one and what to write", async () => {
    const { code, stderr } = await hub(at(standby.port), ["token", "list"]);
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 2,
      stderr: `ship-hub: SHIP_HUB_DATABASE_URL PostgreSQL at ${at(standby.port)} is a standby (in recovery, read-only), and the hub writes to its database: point the URL at the primary, or list every server (postgresql://USER@db1:5432,db2:5432/DB) and the hub connects to whichever is the primary`,
    });
  }, 60_000);

  it("a list with no primary in it: exit 1 at once, naming what each server said", async () => {
    const closed = await freePort();
    const url = at(standby.port, closed);
    const { code, stderr } = await hub(url, ["token", "list"]);
    // Without "within N s": a refusal and a standby's answer are not waited out.
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 1,
      stderr: `ship-hub: cannot use PostgreSQL at ${url} from SHIP_HUB_DATABASE_URL: no primary among its hosts: 127.0.0.1:${standby.port}: a standby (in recovery); 127.0.0.1:${closed}: connection refused (ECONNREFUSED)`,
    });
  }, 60_000);

  it("target_session_attrs asking for a read-only server: exit 2 before connecting", async () => {
    const { code, stderr } = await hub(`${at(primary.port)}?target_session_attrs=standby`, ["token", "list"]);
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 2,
      stderr:
        "ship-hub: SHIP_HUB_DATABASE_URL target_session_attrs=standby asks for a read-only server, but the hub writes to its database: leave it out (with several hosts the hub picks the primary) or write primary",
    });
  });

  it("PGHOST naming several servers (PGPORT one per host): a list, the primary used wherever it is", async () => {
    // The hub took PGHOST's list for one server: the standby first in it was exit 2 "a standby".
    const listed = await runHubCli(dir, ["token", "list"], {
      SHIP_HUB_DATABASE_URL: `postgresql://${db}?user=ship`,
      PGHOST: "127.0.0.1,127.0.0.1",
      PGPORT: `${standby.port},${primary.port}`,
    });
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
