/**
 * `ship-hub` tells an operator (and a script) the truth about what it did not do: a preview of a
 * rollout create would refuse exits 2 as that create does (it exited 0, read as "fine"), a short
 * id says why it was not found, and `rollout list` says when it left older rollouts out. Real hub
 * (in process), a real agent over WebSocket, the real CLI as a child process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { insertFinishedRollout, publishRelease, startTestHub, TestAgent, type TestHub } from "./support.js";

describe("ship-hub says why it did not do what was asked", () => {
  let t: TestHub;
  let agent: TestAgent;
  let release: string;
  /** The rollout the second case creates; h1 holds it, with no earlier release the hub knows. */
  let running = "";
  /** An aborted rollout of `releaseId` made at `at`, put in the store as an older hub left it. */
  const insertOld = (prefix: string, releaseId: string, at: number) =>
    insertFinishedRollout(t, `${prefix}-0000-4000-8000-000000000000`, releaseId, at, "aborted", "old");
  const cli = (...args: string[]) =>
    runHubCli(process.cwd(), args, { SHIP_HUB_URL: t.hub.url, SHIP_HUB_TOKEN: t.operator });

  beforeAll(async () => {
    requireHubBin();
    t = await startTestHub();
    release = await publishRelease(t, "2.0.0");
    agent = await TestAgent.connect(t.hub.url, await t.agentToken("h1"));
    agent.hello("h1");
    while ((await t.api("GET", "/api/v1/agents/h1", { token: t.operator })).status !== 200)
      await new Promise((resolve) => setTimeout(resolve, 20));
  });
  afterAll(async () => {
    agent?.ws.close();
    await t?.stop();
  });

  it("rollout create --preview of a rollout that would hold nobody exits 2, naming why", async () => {
    const args = ["rollout", "create", "--release", release, "--wave", "all=100", "--selector", "ring=none"];
    const preview = await cli(...args, "--preview");
    expect(preview.code).toBe(2);
    expect(preview.stderr).toMatch(
      /^creating it would be refused: --selector: no agent with app web has ring=none/m,
    );
    expect(preview.stdout).toContain("preview (seed");
    const json = await cli(...args, "--preview", "--json");
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toHaveProperty("nobody");
    // The same as the create it previews.
    expect((await cli(...args)).code).toBe(2);
  });

  it("rollout create --preview while another rollout of the app is active exits 2, naming it", async () => {
    const created = await cli("rollout", "create", "--release", release, "--wave", "all=100", "--json");
    expect(created.code).toBe(0);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    running = id;
    const preview = await cli("rollout", "create", "--release", release, "--wave", "all=100", "--preview");
    expect(preview.stderr).toContain(`creating it would be refused: rollout ${id} of web is running`);
    expect(preview.code).toBe(2);
    const create = await cli("rollout", "create", "--release", release, "--wave", "all=100");
    expect(create.code).toBe(2);
    expect(create.stderr).toContain(`rollout ${id} of web is running`);
  });

  it("a --release the hub does not have is named as the flag, not 'release nope not found'", async () => {
    const created = await cli("rollout", "create", "--release", "nope", "--wave", "all=100");
    expect(created).toMatchObject({
      code: 2,
      stderr: `ship-hub: hub answered 404: --release nope: no release "nope" on this hub (GET /api/v1/releases lists them, as the dashboard's Releases page does)\n`,
    });
  });

  it("a rollout id shorter than 4 characters is not found, saying a prefix needs 4", async () => {
    const show = await cli("rollout", "show", "abc");
    expect(show.code).toBe(2);
    expect(show.stderr).toContain("rollout abc not found (a prefix needs at least 4 characters");
  });

  it("rollout list says when older rollouts were left out, and --limit lists more", async () => {
    const now = Date.now();
    for (let i = 0; i < 101; i++)
      await insertOld(`0000${String(i).padStart(4, "0")}`, release, now - 10_000 + i);
    const cut = await cli("rollout", "list");
    expect(cut.code).toBe(0);
    expect(cut.stderr).toContain("only the newest 100 rollout(s) are listed; older ones exist");
    expect(cut.stdout.trim().split("\n")).toHaveLength(101);
    const all = await cli("rollout", "list", "--limit", "200");
    expect(all.stderr).toBe("");
    expect(all.stdout.trim().split("\n")).toHaveLength(103);
    const bad = await cli("rollout", "list", "--limit", "0");
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toContain('--limit "0"');
  });

  it("rollout list --app lists that app's rollouts only, and says when it cut them off", async () => {
    const api = await publishRelease(t, "1.0.0", "api");
    const now = Date.now();
    // Older than every rollout of web: cut off by the limit when filtered after it.
    for (let i = 0; i < 3; i++) await insertOld(`aaaa${String(i).padStart(4, "0")}`, api, now - 20_000 + i);
    const apps = (stdout: string) => [
      ...new Set(
        stdout
          .trim()
          .split("\n")
          .slice(1)
          .map((l) => l.split(/\s+/)[1]),
      ),
    ];
    const listed = await cli("rollout", "list", "--app", "api");
    expect(listed).toMatchObject({ code: 0, stderr: "" });
    expect(listed.stdout.trim().split("\n")).toHaveLength(4);
    expect(apps(listed.stdout)).toEqual(["api"]);
    const cut = await cli("rollout", "list", "--app", "api", "--limit", "2");
    expect(cut.stdout.trim().split("\n")).toHaveLength(3);
    expect(cut.stderr).toMatch(
      /^note: only the newest 2 rollout\(s\) are listed; older ones exist \(--limit up to 1000, or --state\)\nnote: the next page: the same command with --after \d+\.aaaa0001-\S+\n$/,
    );
    const web = await cli("rollout", "list", "--app", "web", "--json");
    const rollouts = JSON.parse(web.stdout) as { release: { app: string } }[];
    expect(rollouts).toHaveLength(100);
    expect(new Set(rollouts.map((r) => r.release.app))).toEqual(new Set(["web"]));
    // No such app (a typo, another case) and an app with no rollout were the same empty table.
    const none = await cli("rollout", "list", "--app", "Web");
    expect(none).toMatchObject({
      code: 0,
      stderr: 'note: the hub has no release of an app "Web" (app names are case-sensitive)\n',
    });
    expect(none.stdout.trim().split("\n")).toHaveLength(1);
    const quiet = await cli("rollout", "list", "--app", "api", "--state", "paused", "--json");
    // With --json the note is a JSON line too.
    expect(quiet).toMatchObject({ code: 0, stderr: '{"note":"no rollout of api in state paused yet"}\n' });
    expect(JSON.parse(quiet.stdout)).toEqual([]);
  });

  it("rollout abort --rollback that reaches no agent exits 1, naming them; show names them too", async () => {
    const aborted = await cli("rollout", "abort", running, "--rollback");
    expect(aborted.stdout).toMatch(/state\s+aborted/);
    expect(aborted.stdout).toMatch(/not rolled back\s+h1/);
    expect(aborted.stderr).toContain("not rolled back: h1 (no earlier release known");
    expect(aborted.code).toBe(1);
    expect((await cli("rollout", "show", running)).stdout).toMatch(/not rolled back\s+h1/);
  });
});
