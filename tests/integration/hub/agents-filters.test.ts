/**
 * `ship-hub agents` listed the whole fleet: its filters (app, version, state, label, online or not)
 * were the API's alone, so an operator grepped a 10,000-line table for the hosts a rollout failed
 * on. The flags say them as `rollout create` does (`--selector k=v`), a refusal names the flag, not
 * `query.state`, and a filter that matches nobody says so. Real hub (in process), the real CLI.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, publishRelease } from "./support.js";

const session = hubPerTest();
const web = (version: string, state: string) => [{ app: "web", version, state, releaseId: undefined }];

describe("ship-hub agents with filters", () => {
  it("lists only the matching agents, names a bad flag, and says when none matches", async () => {
    requireHubBin();
    const t = await session.start();
    await session.connect(t, "p1", web("2.0.0", "updated"), { env: "prod" });
    await session.connect(t, "p2", web("1.0.0", "failed_restored"), { env: "prod" });
    await session.connect(t, "s1", web("2.0.0", "updated"), { env: "staging" });
    const p3 = await session.connect(t, "p3", web("2.0.0", "updated"), { env: "prod" });
    p3.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("p3"), { timeout: 10_000 }).toBe(false);
    const cli = (...args: string[]) =>
      runHubCli(t.dir, ["agents", ...args, "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    const ids = (stdout: string) =>
      stdout
        .trim()
        .split("\n")
        .slice(1)
        .map((line) => line.split(/\s+/)[0]);

    expect(ids((await cli("--selector", "env=prod", "--version", "2.0.0")).stdout)).toEqual(["p1", "p3"]);
    // As versions compare, as `rollout create --version v2.0.0` finds 2.0.0: not "no agent matches".
    expect(ids((await cli("--app", "web", "--version", "v2.0.0")).stdout)).toEqual(["p1", "p3", "s1"]);
    expect(ids((await cli("--version", "v1.0.0")).stdout)).toEqual(["p2"]);
    expect(ids((await cli("--selector", "env=prod", "--status", "online", "--app", "web")).stdout)).toEqual([
      "p1",
      "p2",
    ]);
    expect(ids((await cli("--state", "failed_restored")).stdout)).toEqual(["p2"]);
    expect(ids((await cli("--selector", "env = staging")).stdout)).toEqual(["s1"]);
    // The API reads a pair by the same rule: `?label= env = staging` listed nobody (a 200), as if
    // no agent carried it.
    const spaced = await t.api<{ agents: { id: string }[] }>(
      "GET",
      "/api/v1/agents?label=%20env%20=%20staging",
      {
        token: t.operator,
      },
    );
    expect({ status: spaced.status, ids: spaced.body.agents.map((a) => a.id) }).toEqual({
      status: 200,
      ids: ["s1"],
    });
    // The same for the app and the id or host searched: `--app " web"` said "no agent matches".
    expect(ids((await cli("--app", " web ", "--selector", "env=staging")).stdout)).toEqual(["s1"]);
    const searched = await t.api<{ agents: { id: string }[] }>(
      "GET",
      "/api/v1/agents?q=%20s1%20&app=web%09",
      {
        token: t.operator,
      },
    );
    expect(searched.body.agents.map((a) => a.id)).toEqual(["s1"]);
    const json = await cli("--status", "offline", "--json");
    expect((JSON.parse(json.stdout) as { id: string }[]).map((a) => a.id)).toEqual(["p3"]);

    const pair = await cli("--selector", "envprod");
    expect(pair).toMatchObject({ code: 2, stderr: 'ship-hub: --selector "envprod": use KEY=VALUE\n' });

    const none = await cli("--app", "api");
    expect(none.code).toBe(0);
    expect(ids(none.stdout)).toEqual([]);
    expect(none.stderr).toBe("note: no agent matches these filters (the hub knows 4 agent(s))\n");
  });

  // Checked by the hub alone, `agents --status bogus` sent a request: with the hub down the operator
  // read "connection refused" (exit 1) about a typo. Each flag of fixed words is refused before any
  // request, exit 2, naming the flag and the words it takes.
  it("refuses a word no flag of fixed words takes, before any request", async () => {
    requireHubBin();
    const requests: string[] = [];
    const hub = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(200, { "content-type": "application/json" }).end('{"agents":[],"rollouts":[]}');
    });
    await new Promise<void>((done) => hub.listen(0, "127.0.0.1", done));
    const url = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    const cli = (...args: string[]) =>
      runHubCli(process.cwd(), [...args, "--hub", url], {
        SHIP_HUB_TOKEN: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcCJ9.c2lnbmF0dXJl",
      });
    try {
      const refused = await Promise.all([
        cli("agents", "--status", "bogus"),
        cli("agents", "--state", "broken"),
        cli("agents", "forget", "p1", "--status", "Online"),
        cli("rollout", "list", "--state", "runing"),
      ]);
      expect(refused.map((r) => [r.code, r.stdout, r.stderr.split(" is invalid.")[0]])).toEqual([
        [2, "", "ship-hub: option '--status <status>' argument 'bogus'"],
        [2, "", "ship-hub: option '--state <state>' argument 'broken'"],
        [2, "", "ship-hub: option '--status <status>' argument 'Online'"],
        [2, "", "ship-hub: option '--state <state>' argument 'runing'"],
      ]);
      expect(refused[0]?.stderr).toBe(
        "ship-hub: option '--status <status>' argument 'bogus' is invalid. Allowed choices are online, offline. (see `ship-hub agents --help`)\n",
      );
      expect(refused[3]?.stderr).toContain(
        "Allowed choices are running, paused, completed, aborted, failed.",
      );
      expect(requests).toEqual([]);
      // A word it takes still goes to the hub.
      expect((await cli("agents", "--status", "offline", "--state", "succeeded")).code).toBe(0);
      expect(requests).toEqual(["GET /api/v1/agents?state=succeeded&status=offline"]);
    } finally {
      hub.close();
    }
  });

  it("refuses a label given twice in --selector: each must hold, and no agent has two values", async () => {
    requireHubBin();
    const t = await session.start();
    await session.connect(t, "p1", web("2.0.0", "updated"), { env: "prod" });
    await session.connect(t, "s1", web("2.0.0", "updated"), { env: "staging" });
    // The second value used to replace the first: the table listed s1 as matching env=prod too.
    const twice = await runHubCli(
      t.dir,
      ["agents", "--selector", "env=prod", "--selector", "env=staging", "--hub", t.hub.url],
      { SHIP_HUB_TOKEN: t.operator },
    );
    expect(twice).toMatchObject({
      code: 2,
      stdout: "",
      stderr:
        'ship-hub: --selector "env=staging": env is given twice (env=prod, env=staging): an agent carries one value per label, so none matches both\n',
    });
  });

  it("a label value an agent announced with spaces at its ends is stored, shown and chosen trimmed", async () => {
    requireHubBin();
    const t = await session.start();
    // An agent configured before its config refused `env = " prod"` still announces the spaces.
    // `--selector`, labels waves and the dashboard's forms trim what they are given, so as written
    // the value could be chosen by none of them: the hub takes it as `env=prod`.
    await session.connect(t, "v1", web("2.0.0", "updated"), { env: " prod " });
    await session.connect(t, "v2", web("2.0.0", "updated"), { env: "prod" });
    const list = async (query: string) => {
      const res = await t.api<{
        agents: { id: string; labels: Record<string, string> }[];
        facets?: { labels: Record<string, string[]> };
      }>("GET", `/api/v1/agents?${query}`, { token: t.operator });
      return { status: res.status, agents: res.body.agents, facets: res.body.facets };
    };
    const all = await list("facets=true");
    expect(all.facets?.labels.env).toEqual(["prod"]);
    expect(all.agents.map((a) => [a.id, a.labels])).toEqual([
      ["v1", { env: "prod" }],
      ["v2", { env: "prod" }],
    ]);
    for (const pair of ["env=prod", "env= prod", " env = prod "])
      expect((await list(`label=${encodeURIComponent(pair)}`)).agents.map((a) => a.id)).toEqual(["v1", "v2"]);
    // The CLI's --selector (which trims) finds both.
    const listed = await runHubCli(
      t.dir,
      ["agents", "--selector", "env=prod", "--json", "--hub", t.hub.url],
      { SHIP_HUB_TOKEN: t.operator },
    );
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((a) => a.id)).toEqual(["v1", "v2"]);
  });

  it("a label name an agent announced with spaces at its ends is stored, shown and chosen trimmed, as its value is", async () => {
    requireHubBin();
    const t = await session.start();
    // Names by the values' rule: ` env` was stored as written, and no `--selector`, labels wave or
    // dashboard form (all of which trim a name) could choose the host.
    await session.connect(t, "n1", web("2.0.0", "updated"), { " env ": " prod ", ring: "main" });
    // Two names that trim alike: the one written without spaces is the label.
    await session.connect(t, "n2", web("2.0.0", "updated"), { " ring": "canary", env: "prod", ring: "main" });
    const listed = await t.api<{ agents: { id: string; labels: Record<string, string> }[] }>(
      "GET",
      "/api/v1/agents",
      { token: t.operator },
    );
    expect(listed.body.agents.map((a) => [a.id, a.labels])).toEqual([
      ["n1", { env: "prod", ring: "main" }],
      ["n2", { env: "prod", ring: "main" }],
    ]);
    const chosen = await runHubCli(
      t.dir,
      ["agents", "--selector", "env=prod", "--selector", "ring=main", "--json", "--hub", t.hub.url],
      { SHIP_HUB_TOKEN: t.operator },
    );
    expect(chosen.code, chosen.stderr).toBe(0);
    expect((JSON.parse(chosen.stdout) as { id: string }[]).map((a) => a.id)).toEqual(["n1", "n2"]);
    // A labels wave names it too: the preview puts both in the wave.
    const release = await publishRelease(t, "3.0.0");
    const preview = await t.api<{ waves: { agents: string[] }[] }>("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: { release, waves: [{ name: "prod", labels: { env: "prod" } }] },
    });
    expect(preview.status).toBe(200);
    expect([...(preview.body.waves[0]?.agents ?? [])].sort()).toEqual(["n1", "n2"]);
  });

  it("an empty fleet says so on stderr, with or without filters, instead of a bare header", async () => {
    requireHubBin();
    const t = await session.start();
    const cli = (...args: string[]) =>
      runHubCli(t.dir, ["agents", ...args, "--hub", t.hub.url], { SHIP_HUB_TOKEN: t.operator });
    const note =
      "note: the hub knows no agent yet: an agent appears once `ship agent` connects with an agent token (`ship-hub token create --role agent --agent ID`) and the hub's url in [hub] of its ship.toml\n";
    for (const args of [[], ["--app", "web"]]) {
      const listed = await cli(...args);
      expect(listed).toMatchObject({ code: 0, stderr: note });
      expect(listed.stdout.trim().split("\n")).toHaveLength(1);
    }
    // Scripts still read JSON on stdout, and the note is a JSON line on stderr.
    expect(await cli("--json")).toMatchObject({
      code: 0,
      stdout: "[]\n",
      stderr: `${JSON.stringify({ note: note.slice("note: ".length, -1) })}\n`,
    });
  });

  // By offset alone, an agent that joined (or stopped matching) between two pages moved the others:
  // the next page began with the last agent already read, or skipped one never read. `after`, the
  // `next` of the page before, starts after that page's last agent, whatever changed meanwhile.
  it("pages by cursor: agents joining or going offline between pages move none onto a page read already", async () => {
    const t = await session.start();
    const p1 = await session.connect(t, "p1", web("1.0.0", "updated"));
    for (const id of ["p2", "p3", "p4"]) await session.connect(t, id, web("1.0.0", "updated"));
    type Page = { agents: { id: string }[]; total: number; offset: number; next?: string };
    const get = async (query: string) => {
      const answer = await t.api<Page>("GET", `/api/v1/agents?${query}`, { token: t.operator });
      expect(answer.status, query).toBe(200);
      return answer.body;
    };
    const first = await get("limit=2&status=online");
    expect([first.agents.map((a) => a.id), first.next]).toEqual([["p1", "p2"], "p2"]);
    // Two hosts sorting first join, and one already read goes offline: p3 stays next.
    // Net one more before the cursor: by offset 2 the next page began with p2 again.
    for (const id of ["a0", "a1"]) await session.connect(t, id, web("1.0.0", "updated"));
    p1.ws.terminate();
    await expect.poll(() => t.hub.registry.isOnline("p1"), { timeout: 10_000 }).toBe(false);
    expect((await get("limit=2&status=online&offset=2")).agents.map((a) => a.id)).toEqual(["p2", "p3"]);
    const second = await get("limit=2&status=online&after=p2");
    expect(second).toMatchObject({ agents: [{ id: "p3" }, { id: "p4" }], total: 5, offset: 3 });
    expect(second.next).toBeUndefined();
    // Backwards from the first agent of that page: the agents just before it, not the page that
    // started at the front (a0, a1), which left p2 in neither page; too few before: the first page.
    expect(await get("limit=2&status=online&before=p3")).toMatchObject({
      agents: [{ id: "a1" }, { id: "p2" }],
      offset: 1,
      next: "p2",
    });
    expect(await get("limit=2&status=online&before=a1")).toMatchObject({
      agents: [{ id: "a0" }, { id: "a1" }],
      offset: 0,
    });
    const backAndForth = await t.api("GET", "/api/v1/agents?limit=2&after=p2&before=p4", {
      token: t.operator,
    });
    expect([backAndForth.status, backAndForth.body.error]).toEqual([
      400,
      "query.before: not with after (the cursor says where the page ends)",
    ]);
    // No agent id (a page past everyone, read as the end): refused, naming the rule.
    const unicode = await t.api("GET", "/api/v1/agents?limit=2&after=%C3%A9", { token: t.operator });
    expect([unicode.status, unicode.body.error]).toEqual([
      400,
      "query.after: must be 1 to 200 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
    ]);
    const both = await t.api("GET", "/api/v1/agents?limit=2&after=p2&offset=2", { token: t.operator });
    expect([both.status, both.body.error]).toEqual([
      400,
      "query.offset: not with after (the cursor says where the page starts)",
    ]);
  });
});
