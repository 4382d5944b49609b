/**
 * An app that takes hub releases only (`type = "hub"`), and agent tokens that do not silently
 * expire (real hub and agent processes): a connected agent gets a
 * renewed token past half its lifetime, saves it and reconnects with it after the first one
 * expired; an agent with an expired token is refused, and the hub logs it (once, not per retry)
 * and lists it for the dashboard with the tokens that expire soon.
 */
import { execFile } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

const execFileAsync = promisify(execFile);

interface TokenRow {
  jti: string;
  agentId: string | null;
  /** ISO 8601, as the table and the API give times. */
  created: string;
  renewedFrom: string | null;
}

interface Attention {
  refused: { agentId: string; reason: string; count: number }[];
  expiringTokens: { agentId: string; expired: boolean }[];
}

describe("agent tokens (real hub and agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    // The default ping (30 s): renewal must not wait for a ping a 6-s token would not live to see.
    fleet = await Fleet.start({ agents: 1, hubOnly: true });
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const mint = async (ttl: string, agentId = "agent-1") =>
    (
      await execFileAsync(process.execPath, [
        resolve("dist/hub/cli/main.js"),
        "token",
        "create",
        "--config",
        join(fleet.dir, "hub.toml"),
        "--role",
        "agent",
        "--agent",
        agentId,
        "--ttl",
        ttl,
      ])
    ).stdout.trim();
  const tokenCli = async (...args: string[]) =>
    (
      await execFileAsync(process.execPath, [
        resolve("dist/hub/cli/main.js"),
        "token",
        ...args,
        "--config",
        join(fleet.dir, "hub.toml"),
      ])
    ).stdout;
  const online = async () => (await fleet.api<{ online: boolean }>("GET", "/agents/agent-1")).online;
  const agent = () => fleet.agent(0);
  const renewedFile = () => join(agent().root, "state", "daemon", "hub.token");
  const agentLog = () => readFile(join(agent().root, "agent.log"), "utf8");
  /** The renewals this agent took since its log was `from` characters long. */
  const renewalsSince = async (from: number) =>
    (await agentLog())
      .slice(from)
      .split("\n")
      .filter((l) => l.includes("renewed this agent's token")).length;
  const claimsOf = (token: string) =>
    JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
      jti: string;
      iat: number;
      exp: number;
    };
  /**
   * Starts the agent on a token of another hub's (refused: bad signature) and mints the `ttl` token
   * once the agent is retrying, then writes it for the agent to take at its next refusal: a short
   * token's life goes to the test, not to the agent's start (over 6 s on a loaded machine: the
   * token had expired before the agent first connected). Even so a 6-s token can expire between
   * its mint and the agent's next try on a loaded machine (CI: "timed out waiting for agent
   * online"): the hub then refuses it as expired, and a fresh one is minted. Returns the token the
   * agent came online with.
   */
  const startAgentOn = async (ttl: string): Promise<string> => {
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const unsigned = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "agent-1", role: "agent", iat: Math.floor(Date.now() / 1000) })}`;
    const foreign = `${unsigned}.${createHmac("sha256", randomBytes(32)).update(unsigned).digest("base64url")}`;
    const file = join(agent().root, "token");
    await writeFile(file, foreign, { mode: 0o600 });
    const from = (await agentLog()).length;
    await fleet.startAgent(0);
    await fleet.waitFor("the agent refused with a foreign token", async () =>
      (await agentLog()).slice(from).includes("hub refused the connection"),
    );
    for (let attempt = 1; ; attempt++) {
      const token = await mint(ttl);
      const mintedFrom = (await agentLog()).length;
      // Renamed into place: the agent rereads the file at any moment, and must not read half a token.
      await writeFile(`${file}.new`, token, { mode: 0o600 });
      await rename(`${file}.new`, file);
      const expiredFirst = async () => (await agentLog()).slice(mintedFrom).includes("jwt expired");
      await fleet.waitFor(
        "agent online, or its new token expired first",
        async () => (await online()) || (await expiredFirst()),
      );
      if (await online()) return token;
      if (attempt === 3) throw new Error(`three ${ttl} tokens expired before the agent connected with them`);
    }
  };
  const hubLog = () => readFile(join(fleet.dir, "hub.log"), "utf8");
  /** The hub's refusal lines for agent-1 since its log was `from` characters long. */
  const refusalLines = async (from: number) =>
    (await hubLog())
      .slice(from)
      .split("\n")
      .filter((l) => l.includes("refused an agent connection") && l.includes("agent-1"));

  it('an app declared type = "hub" takes a hub release; ship --check-only on that host exits 0 and changes nothing', {
    timeout: 60_000,
  }, async () => {
    const release = await fleet.publish({ version: "1.1.0" });
    const created = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release,
      waves: [{ name: "all", percent: 100 }],
    });
    await fleet.waitFor("completed", async () => (await fleet.rollout(created.id)).state === "completed");
    expect(await fleet.appVersion(0)).toBe("1.1.0");
    const state = join(agent().root, "state", "ship-state.json");
    const before = await readFile(state, "utf8");
    const check = await execFileAsync(process.execPath, [
      resolve("dist/agent/cli/main.cjs"),
      "--config",
      agent().configFile,
      "--check-only",
    ]);
    expect(check.stderr).toMatch(/takes hub releases only/);
    expect(await readFile(state, "utf8")).toBe(before);
    expect(await fleet.appVersion(0)).toBe("1.1.0");
  });

  it("a connected agent's token is renewed before it expires; after expiry it reconnects with the new one", {
    timeout: 90_000,
  }, async () => {
    await fleet.stopAgent(0);
    const shortLived = await startAgentOn("6s");
    const expiresAt = claimsOf(shortLived).exp * 1000;
    await fleet.waitFor("agent online", online);
    // The foreign token's refusal is behind; none from here on.
    const hubLogFrom = (await hubLog()).length;
    await fleet.waitFor("renewed token saved", async () => existsSync(renewedFile()), 30_000);
    const renewed = (await readFile(renewedFile(), "utf8")).trim();
    expect(renewed).not.toBe(shortLived);
    // The agent saves the renewal, then logs it: a loaded machine can show the file first.
    await fleet.waitFor("renewal logged", async () =>
      (await agentLog()).includes("renewed this agent's token"),
    );
    // Past the first token's expiry the agent is still connected (renewed on time, not closed at
    // exp), and a fresh process must connect with the renewal.
    await sleep(Math.max(0, expiresAt - Date.now() + 500));
    expect(await online()).toBe(true);
    expect(await hubLog()).not.toMatch(/closing a session whose token ended/);
    await fleet.stopAgent(0);
    await fleet.startAgent(0);
    await fleet.waitFor("agent online again", online);
    expect(await refusalLines(hubLogFrom)).toEqual([]);
  });

  it("an expired token is refused: the hub logs agent and reason once, the dashboard lists it", {
    timeout: 90_000,
  }, async () => {
    const expired = await mint("1s");
    await fleet.stopAgent(0);
    const hubLogFrom = (await hubLog()).length;
    await rm(renewedFile(), { force: true });
    await writeFile(join(agent().root, "token"), expired, { mode: 0o600 });
    // Expired by the hub's clock: past its exp second (JWT times are whole seconds).
    await sleep(Math.max(0, claimsOf(expired).exp * 1000 - Date.now() + 100));
    await fleet.startAgent(0);
    await fleet.waitFor("refused in the log", async () => (await refusalLines(hubLogFrom)).length > 0);
    // The agent retries about every second; the hub logs the same refusal at most once a minute.
    // Waited for by the hub's count, not a sleep a loaded machine may fill with one retry.
    await fleet.waitFor("three refusals counted", async () =>
      (await fleet.api<Attention>("GET", "/agents/attention")).refused.some(
        (r) => r.agentId === "agent-1" && r.count >= 3,
      ),
    );
    const lines = await refusalLines(hubLogFrom);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/jwt expired/);
    const agentLines = await agentLog();
    // One line per attempt, at ERROR, with the hub's reason (an answer's own line came before it).
    expect(agentLines).toMatch(
      /"level":50,.*"reason":"invalid token: jwt expired","msg":"hub connection failed: the hub refused the connection \(401/,
    );
    expect(agentLines).not.toContain('"msg":"hub refused the connection"');
    // The reconnect line names the refusal, not terminate()'s "WebSocket was closed before the
    // connection was established", which read as a network fault.
    expect(agentLines).toContain(
      "hub connection failed: the hub refused the connection (401: invalid token: jwt expired): on the hub run ship-hub token create --role agent --agent agent-1",
    );
    expect(agentLines).not.toContain("WebSocket was closed before the connection was established");
    const attention = await fleet.api<Attention>("GET", "/agents/attention");
    expect(attention.refused).toMatchObject([
      { agentId: "agent-1", reason: expect.stringMatching(/jwt expired/) },
    ]);
    expect(attention.refused[0]?.count).toBeGreaterThan(1);
    // agent-1 still has its 30-day token from the start; a host given only a 2-day token is listed.
    expect(attention.expiringTokens.map((t) => t.agentId)).not.toContain("agent-1");
    await mint("2d", "agent-9");
    const later = await fleet.api<Attention>("GET", "/agents/attention");
    expect(later.expiringTokens).toMatchObject([{ agentId: "agent-9", expired: false }]);
    expect(await online()).toBe(false);
  });
  it("renewals keep the token table bounded; revoking the issued token ends the renewed session", {
    timeout: 90_000,
  }, async () => {
    await fleet.stopAgent(0);
    await rm(renewedFile(), { force: true });
    const logFrom = (await agentLog()).length;
    const issued = await startAgentOn("6s");
    const { jti } = claimsOf(issued);
    await fleet.waitFor("agent online", online);
    // Renewed every 3 s: each renewal adds a row, the expired ones must go again (the renewals in
    // force at any time: two, three at a renewal's edge). Four renewals: without the pruning, four
    // rows (the first long expired) where at most three may be; a fifth (3 s more) told no more.
    await fleet.waitFor("four renewals", async () => (await renewalsSince(logFrom)) >= 4, 45_000);
    expect(await online()).toBe(true);
    const list = JSON.parse(await tokenCli("list", "--json")) as TokenRow[];
    const issuedAt = Date.parse(list.find((t) => t.jti === jti)?.created ?? "");
    // Every token of this agent made since, whatever it names: the renewals in force only.
    const since = list.filter(
      (t) => t.agentId === "agent-1" && Date.parse(t.created) >= issuedAt && t.jti !== jti,
    );
    expect(since.length).toBeGreaterThan(0);
    expect(since.length).toBeLessThanOrEqual(3);
    expect(since.every((t) => t.renewedFrom === jti)).toBe(true);
    // The table shows the token the operator issued, with the expiry its renewals reach.
    const row = (await tokenCli("list")).split("\n").filter((l) => l.includes("agent:agent-1"));
    expect(row.filter((l) => l.startsWith(jti))).toHaveLength(1);
    expect(row.some((l) => since.some((t) => l.startsWith(t.jti)))).toBe(false);

    expect((await tokenCli("revoke", jti)).trim()).toBe(`revoked ${jti}`);
    await fleet.waitFor("agent offline after revoke", async () => !(await online()), 15_000);
    await fleet.waitFor("renewed token refused", async () =>
      (await fleet.api<Attention>("GET", "/agents/attention")).refused.some(
        (r) => r.agentId === "agent-1" && /revoked/.test(r.reason),
      ),
    );
  });
  it("a replacement written after revoking wins over the revoked renewal, though that one expires later", {
    timeout: 120_000,
  }, async () => {
    await fleet.stopAgent(0);
    const issued = await mint("24s");
    const { jti } = claimsOf(issued);
    await rm(renewedFile(), { force: true });
    await writeFile(join(agent().root, "token"), issued, { mode: 0o600 });
    await fleet.startAgent(0);
    await fleet.waitFor("agent online", online);
    // Renewed at half its life (12 s, waited out: it was a 30-s token, 15 s): a renewal good for
    // 24 s more is saved. At load 12 the replacement below was minted with 14 s to live.
    await fleet.waitFor("renewed token saved", async () => existsSync(renewedFile()), 40_000);
    // A leak: the operator revokes the token (and so its renewal) and writes a replacement which
    // expires before the revoked renewal would: its lifetime is what the renewal has left, less 8 s
    // for the mint itself (a CLI start, seconds on a loaded machine; minted again if it took longer).
    expect((await tokenCli("revoke", jti)).trim()).toBe(`revoked ${jti}`);
    await fleet.waitFor("agent offline after revoke", async () => !(await online()), 15_000);
    await fleet.stopAgent(0);
    const renewedExp = claimsOf(await readFile(renewedFile(), "utf8")).exp;
    let replacement = "";
    while (!replacement || claimsOf(replacement).exp >= renewedExp) {
      const ttl = renewedExp - Math.ceil(Date.now() / 1000) - 8;
      if (ttl < 5) throw new Error("no time left to mint a replacement that expires before the renewal");
      replacement = await mint(`${ttl}s`);
    }
    expect(claimsOf(replacement).exp).toBeLessThan(renewedExp);
    await writeFile(join(agent().root, "token"), replacement, { mode: 0o600 });
    const restartedFrom = (await agentLog()).length;
    await fleet.startAgent(0);
    await fleet.waitFor("agent online with the replacement", online, 15_000);
    // Picked at start, not after the hub refused the revoked renewal: picking by expiry, the agent
    // presented the renewal first and came online all the same, by the fallback of a refusal.
    expect((await agentLog()).slice(restartedFrom)).not.toContain("hub refused the connection");
  });
  it("a replacement written to token_file after revoking is taken at the next refusal, without a restart", {
    timeout: 120_000,
  }, async () => {
    const issued = await mint("1h");
    const { jti } = claimsOf(issued);
    await fleet.stopAgent(0);
    await rm(renewedFile(), { force: true });
    await writeFile(join(agent().root, "token"), issued, { mode: 0o600 });
    await fleet.startAgent(0);
    await fleet.waitFor("agent online", online);
    // The operator revokes the leaked token and writes a new one, and restarts nothing: the agent
    // kept presenting the refused token until a restart (reconnecting for ever, 401 each time).
    expect((await tokenCli("revoke", jti)).trim()).toBe(`revoked ${jti}`);
    await fleet.waitFor("agent offline after revoke", async () => !(await online()), 15_000);
    await writeFile(join(agent().root, "token"), await mint("1h"), { mode: 0o600 });
    await fleet.waitFor("agent online with the replacement", online, 30_000);
  });
});
