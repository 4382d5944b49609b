/**
 * A hub.db an older hub left readable by every local user (0644, in a data dir left 755) is closed
 * to them when a hub opens it: it holds the webhook URLs and headers the API masks and agents'
 * reports. It stayed 0644, and so did the -wal and -shm SQLite made beside it. The group's bits
 * are kept (a backup job may read through them).
 */
import { chmod, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";

let dir: string;
beforeAll(requireHubBin);
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-hub-db-mode-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("an existing hub.db readable by others is made unreadable to them (the -wal and -shm SQLite makes take its mode)", async () => {
  const created = await runHubCli(dir, ["token", "create", "--role", "ci", "--data-dir", "data"]);
  expect(created.code, created.stderr).toBe(0);
  const data = join(dir, "data");
  await chmod(data, 0o755);
  await chmod(join(data, "hub.db"), 0o644);

  const listed = await runHubCli(dir, ["token", "list", "--data-dir", "data"]);
  expect(listed.code, listed.stderr).toBe(0);
  expect(listed.stdout).toContain("ci");
  for (const name of await readdir(data)) {
    if (!name.startsWith("hub.db")) continue;
    expect({ name, mode: (await stat(join(data, name))).mode & 0o777 }).toEqual({ name, mode: 0o640 });
  }
});
