/**
 * `ship-hub token revoke JTI` revokes the whole chain JTI belongs to (the agent token the operator
 * issued and every renewal the channel made of it): what it prints must name each jti it revoked,
 * so an operator who revoked a renewal learns the token they issued went with it. The real CLI on
 * a real data dir; the renewals are made by the hub's own renewal code on the same database.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { renewAgentToken } from "../../../hub/auth/renewal.js";
import { TokenService } from "../../../hub/auth/tokens.js";
import { sqliteAsyncStore } from "../../../hub/store/sqlite-async-store.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";

describe("ship-hub token revoke of a renewed agent token", () => {
  let dir: string;
  beforeEach(async () => {
    requireHubBin();
    dir = await mkdtemp(join(tmpdir(), "ship-revoke-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** An agent token issued with the CLI, renewed twice by the hub's renewal code: [issued, r1, r2]. */
  async function renewedChain(): Promise<string[]> {
    const created = await runHubCli(dir, [
      "token",
      "create",
      "--data-dir",
      "data",
      "--role",
      "agent",
      "--agent",
      "web-1",
      "--ttl",
      "100s",
    ]);
    expect(created.code).toBe(0);
    const store = sqliteAsyncStore(
      new SqliteStore(join(dir, "data", "hub.db")),
      join(dir, "data", "artifacts"),
    );
    try {
      let clock = Date.now() + 60_000;
      const tokens = new TokenService(await readFile(join(dir, "data", "secret")), store, () => clock);
      const issued = await tokens.verify(created.stdout.trim());
      const once = await renewAgentToken(tokens, issued);
      clock += 30_000;
      const twice = await renewAgentToken(tokens, await tokens.verify(once.token));
      return [issued.jti, once.principal.jti, twice.principal.jti];
    } finally {
      await store.close();
    }
  }

  it("names every jti of the chain it revoked when a renewal was named", async () => {
    const [issued, r1, r2] = await renewedChain();
    const revoked = await runHubCli(dir, ["token", "revoke", r2 as string, "--data-dir", "data"]);
    // stdout is the one line scripts read; the rest of the chain is named on stderr.
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${r2}\n` });
    const others = [issued, r1].sort().join(", ");
    expect(revoked.stderr).toBe(
      `also revoked 2 more of its chain (the token issued and its renewals): ${others}\n`,
    );
    const list = JSON.parse(
      (await runHubCli(dir, ["token", "list", "--data-dir", "data", "--json"])).stdout,
    ) as {
      jti: string;
      revoked: string | null;
    }[];
    expect(list.filter((t) => t.revoked === null)).toEqual([]);
    // Nothing left in force: revoking again is what a script run twice does. It says when, and
    // exits 0 (the token is revoked, as asked); it was exit 2 "no active token".
    const listed = list.find((t) => t.jti === issued)?.revoked as string;
    const again = await runHubCli(dir, ["token", "revoke", issued as string, "--data-dir", "data"]);
    expect(again).toMatchObject({
      code: 0,
      stdout: `${issued} was revoked already, at ${new Date(listed).toISOString().replace(/\.\d{3}Z$/, "Z")}; nothing changed\n`,
      stderr: "",
    });
  });

  // --json gave the store's epoch milliseconds where the table, the API and revoke's line give
  // ISO 8601 times: a script comparing them with anything else read a number.
  it("token list --json gives ISO 8601 times, the table's", async () => {
    const [issued] = await renewedChain();
    expect(await runHubCli(dir, ["token", "revoke", issued as string, "--data-dir", "data"])).toMatchObject({
      code: 0,
    });
    const json = await runHubCli(dir, ["token", "list", "--data-dir", "data", "--json"]);
    const list = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(list).toHaveLength(3);
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    for (const t of list) {
      expect(t).toMatchObject({ created: expect.stringMatching(iso), expires: expect.stringMatching(iso) });
      expect(t.revoked).toMatch(iso);
    }
    const row = list.find((t) => t.jti === issued)!;
    const table = (await runHubCli(dir, ["token", "list", "--data-dir", "data"])).stdout;
    const line = table.split("\n").find((l) => l.startsWith(issued as string))!;
    for (const key of ["created", "expires", "revoked"])
      expect(line).toContain(String(row[key]).slice(0, 19));
  });

  it("a jti the hub never issued is still exit 2, naming where the jtis are listed", async () => {
    expect((await runHubCli(dir, ["token", "create", "--data-dir", "data", "--role", "ci"])).code).toBe(0);
    const unknown = await runHubCli(dir, ["token", "revoke", "no-such-jti", "--data-dir", "data"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no token with jti no-such-jti (`ship-hub token list` shows the jtis");
  });

  it("a token with no renewals: one jti, as before", async () => {
    const created = await runHubCli(dir, ["token", "create", "--data-dir", "data", "--role", "ci"]);
    const jti = (
      JSON.parse((await runHubCli(dir, ["token", "list", "--data-dir", "data", "--json"])).stdout) as {
        jti: string;
      }[]
    )[0]?.jti as string;
    expect(created.code).toBe(0);
    expect(await runHubCli(dir, ["token", "revoke", jti, "--data-dir", "data"])).toMatchObject({
      stdout: `revoked ${jti}\n`,
      stderr: "",
    });
  });
});
