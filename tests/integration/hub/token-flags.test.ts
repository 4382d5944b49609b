/**
 * `ship-hub token create` with a --ttl that is no duration: exit 2, one line naming the flag (it
 * said `not a duration: "abc"`, naming no flag), and no data dir made.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";

let dir: string;
beforeAll(requireHubBin);
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-hub-token-flags-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it.each(["abc", "30 days", "-1d"])("--ttl %j: exit 2 naming --ttl, nothing created", async (ttl) => {
  const { code, stderr } = await runHubCli(dir, [
    "token",
    "create",
    "--role",
    "ci",
    "--ttl",
    ttl,
    "--data-dir",
    "data",
  ]);
  expect(code, stderr).toBe(2);
  expect(stderr).toBe(`ship-hub: --ttl "${ttl}" is not a duration (use e.g. 30d, 12h, 90m, 3600s)\n`);
  expect(await readdir(dir)).toEqual([]);
});
