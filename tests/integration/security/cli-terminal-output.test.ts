/**
 * What `ship-hub agents` and `rollout show` print is partly written by agents (host name, app
 * versions and states, report errors): an agent token must not drive the operator's terminal with
 * escape sequences or carriage returns, e.g. to make a failed host read "updated".
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { isType, publishRelease, startTestHub, TestAgent, type TestHub } from "../hub/support.js";

let t: TestHub;
let cwd: string;
beforeAll(async () => {
  requireHubBin();
  t = await startTestHub();
  cwd = await mkdtemp(join(tmpdir(), "ship-cli-output-"));
});
afterAll(async () => {
  await t.stop();
  await rm(cwd, { recursive: true, force: true });
});

const ESC = "\u001b";
/** Any control character but the line breaks between rows, or a bidi override. */
const hasControl = (text: string) => /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u.test(text.replaceAll("\n", ""));

describe("ship-hub prints what agents wrote without letting it drive the terminal", () => {
  it("agents: host, labels, version and state with ESC, CR, BEL and a line break are shown escaped, one line per agent", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("tty-1"));
    agent.send({
      type: "hello",
      v: 1,
      agentId: "tty-1",
      hostname: `evil${ESC}[31mRED${ESC}[0m\nFAKE-LINE`,
      labels: { ring: `canary${ESC}]0;title\u0007` },
      agentVersion: "x",
      apps: [{ app: "web", version: "1.0\u0007", state: `failed_restore_failed\r${ESC}[2Kupdated` }],
    });
    await expect
      .poll(async () => (await t.hub.store.getAgent("tty-1"))?.hostname, { timeout: 10_000 })
      .toMatch(/^evil/);
    const { code, stdout } = await runHubCli(cwd, ["agents", "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(code).toBe(0);
    expect(hasControl(stdout)).toBe(false);
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("evil\\u001b[31mRED\\u001b[0m\\nFAKE-LINE");
    expect(lines[1]).toContain("ring=canary\\u001b]0;title\\u0007");
    expect(lines[1]).toContain("web@1.0\\u0007 (failed_restore_failed\\r\\u001b[2Kupdated)");
    agent.ws.terminate();
  });

  it("rollout show: a report's error with escape sequences is shown escaped in the ERROR column", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("tty-2"));
    agent.hello("tty-2");
    await expect
      .poll(async () => (await t.hub.store.getAgent("tty-2"))?.online, { timeout: 10_000 })
      .toBe(true);
    const release = await publishRelease(t, "2.0.0");
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, selector: { labels: {} }, waves: [{ name: "all", agents: ["tty-2"] }] },
    });
    expect(created.status).toBe(201);
    const deploy = await agent.next(isType("deploy"));
    agent.send({
      type: "report",
      v: 1,
      reportId: randomUUID(),
      deploymentId: deploy.deploymentId,
      app: "web",
      releaseId: deploy.release.id,
      outcome: "failed",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      error: `disk full\r${ESC}[2K${ESC}[32mall good${ESC}[0m`,
      steps: [],
    });
    await expect
      .poll(async () => (await t.hub.store.listDeployments({ rolloutId: created.body.id }))[0]?.state)
      .toBe("failed");
    const { stdout } = await runHubCli(cwd, ["rollout", "show", created.body.id, "--hub", t.hub.url], {
      SHIP_HUB_TOKEN: t.operator,
    });
    expect(hasControl(stdout)).toBe(false);
    expect(stdout).toContain("disk full\\r\\u001b[2K\\u001b[32mall good\\u001b[0m");
    agent.ws.terminate();
  });
});
