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
  expect(stderr).toBe(`ship-hub: --ttl "${ttl}" is not a duration (use e.g. 30d, 12h, 1.5h, 3600s)\n`);
  expect(await readdir(dir)).toEqual([]);
});

it("--ttl takes a duration's amount as the number flags do: .5d is 12 h, 1e1d is refused for its notation", async () => {
  const half = await runHubCli(dir, [
    "token",
    "create",
    "--role",
    "ci",
    "--ttl",
    ".5d",
    "--data-dir",
    "data",
  ]);
  expect(half.code, half.stderr).toBe(0);
  const claims = JSON.parse(Buffer.from(half.stdout.trim().split(".")[1] ?? "", "base64url").toString()) as {
    iat: number;
    exp: number;
  };
  expect(claims.exp - claims.iat).toBe(43_200);
  const exponent = await runHubCli(dir, [
    "token",
    "create",
    "--role",
    "ci",
    "--ttl",
    "1e1d",
    "--data-dir",
    "other",
  ]);
  expect({ code: exponent.code, stderr: exponent.stderr }).toEqual({
    code: 2,
    stderr:
      'ship-hub: --ttl "1e1d": "1e1" is exponent notation: numbers here are written in decimal digits with an optional fraction (5, 2.5, .5)\n',
  });
  expect(await readdir(dir)).toEqual(["data"]);
});

// `--ttl 30` beside the default 30d: a 30-second token, printed as any other, that CI or an agent
// found expired (401) by its first use. Still seconds, as `3600` always was, but stderr says so.
it("--ttl with no unit is seconds, and stderr says so with the expiry; with a unit it says nothing", async () => {
  const bare = await runHubCli(dir, ["token", "create", "--role", "ci", "--ttl", "30", "--data-dir", "data"]);
  expect(bare.code, bare.stderr).toBe(0);
  const claims = JSON.parse(Buffer.from(bare.stdout.trim().split(".")[1] ?? "", "base64url").toString()) as {
    exp: number;
  };
  const expires = new Date(claims.exp * 1000).toISOString();
  expect(bare.stderr).toBe(
    `ship-hub: note: --ttl 30 has no unit, so it is 30 second(s): the token expires at ${expires}; write a unit for longer (30d is 30 days)\n`,
  );
  const days = await runHubCli(dir, [
    "token",
    "create",
    "--role",
    "ci",
    "--ttl",
    "30d",
    "--data-dir",
    "data",
  ]);
  expect({ code: days.code, stderr: days.stderr }).toEqual({ code: 0, stderr: "" });
});

const createNamed = (name: string) =>
  runHubCli(dir, ["token", "create", "--role", "ci", "--name", name, "--data-dir", "data"]);

// `token list`, the audit log and the event log print a token's name: one that shows as nothing (a
// Hangul filler, a blank braille pattern) or as less than it holds was issued (exit 0) and named
// nobody an operator could find there. Spaces alone were refused already, as for every flag.
it.each([
  ["   ", "is empty: give it a value"],
  ["\u3164", '"\u3164" must show something'],
  ["\u00a0\u2800", '"\u00a0\u2800" must show something'],
  ["ci\u3164", '"ci\u3164" must not begin or end with white space or an invisible character'],
  ["ci\u200b", '"ci\\u200b" must not hold a control character'],
])("--name %j: exit 2 naming --name, nothing created", async (name, problem) => {
  const { code, stderr } = await createNamed(name);
  expect(code, stderr).toBe(2);
  expect(stderr.split("\n")).toHaveLength(2);
  expect(stderr).toMatch(new RegExp(`^ship-hub: --name ${problem.replace(/[\\.()]/g, "\\$&")}`));
  expect(await readdir(dir)).toEqual([]);
});

it("--name of an emoji written in full is taken", async () => {
  const { code, stderr } = await createNamed("deploy \u2764\ufe0f");
  expect(code, stderr).toBe(0);
});
