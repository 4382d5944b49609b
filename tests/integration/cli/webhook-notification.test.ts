import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp, updateOverEdits } from "./local-app.js";

/** Behaves like a Slack incoming webhook: 400 "no_text" unless the JSON body has a non-empty `text`. */
async function slackLikeReceiver(): Promise<{
  server: Server;
  url: string;
  bodies: Record<string, unknown>[];
}> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      bodies.push(body);
      const ok = typeof body.text === "string" && body.text !== "";
      res.statusCode = ok ? 200 : 400;
      res.end(ok ? "ok" : "no_text");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/services/T000/B000/XXXX`, bodies };
}

describe("ship run: the seed's `type: webhook` pointed at Slack", () => {
  let app: LocalApp;
  let slack: Awaited<ReturnType<typeof slackLikeReceiver>>;
  beforeEach(async () => {
    app = await localApp();
    slack = await slackLikeReceiver();
  });
  afterEach(async () => {
    await new Promise((r) => slack.server.close(r));
    await app.cleanup();
  });

  it("is accepted: the body has `text` (the rendered message) beside the structured fields", async () => {
    await app.release(
      "r1",
      `version: "1.2.3"\nnotifications:\n  on_success:\n    - type: "webhook"\n      url: "${slack.url}"\n      message: "MyApp successfully updated to {version}"\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(slack.bodies).toHaveLength(1);
    expect(slack.bodies[0]).toMatchObject({
      text: "MyApp successfully updated to 1.2.3",
      message: "MyApp successfully updated to 1.2.3",
      app: "myapp",
      version: "1.2.3",
      status: "success",
    });
    expect(run.stderr).toContain("notification sent");
    expect(run.stderr).not.toContain("could not be delivered");
  });

  // 1.0001 s is 1000.1 ms, which AbortSignal.timeout refuses: the message was never sent.
  it("is sent with a timeout that is not whole milliseconds", async () => {
    await app.release(
      "r1",
      `version: "1.2.3"\nnotifications:\n  on_success:\n    - { type: webhook, url: "${slack.url}", message: "up", timeout: 1.0001 }\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(slack.bodies).toHaveLength(1);
    expect(run.stderr).not.toContain("could not be delivered");
  });

  // They reached the terminal, --json and the hub, but not the channel a person reads.
  it("carries the merges' WARNINGs: the operator's comment a merge dropped is named in text and warnings", async () => {
    const manifest = (version: string) =>
      `version: "${version}"\nfiles:\n  config.toml: {action: merge_toml}\nnotifications:\n  on_success:\n    - type: "webhook"\n      url: "${slack.url}"\n`;
    const { run } = await updateOverEdits(app, manifest, {
      v1: { "config.toml": "a = 1\nold = 1\n" },
      edited: { "config.toml": "a = 10\n# ops: old is read by the cron job\nold = 1\n" },
      v2: { "config.toml": "a = 1\n" },
    });
    expect(run.code, run.stderr).toBe(0);
    const body = slack.bodies.at(-1);
    expect(body?.warnings).toEqual([
      expect.stringMatching(
        /^merge of config\.toml: your comments went with the keys the merge removed \(old\): # ops: old is read by the cron job/,
      ),
    ]);
    expect(body?.text).toMatch(
      /\nWARNING: merge of config\.toml: your comments went .*# ops: old is read by the cron job/,
    );
  });

  // Logged alone, as one JSON line among many on stderr, a dead channel went unseen: the channel
  // that would have told the people was the broken one.
  it("says a notification it could not deliver as a WARNING of the run, naming no secret path", async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const deadOrigin = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise((r) => dead.close(r));
    // Two Slack channels share the origin (the path is the secret): which one failed is its place.
    await app.release(
      "r1",
      `version: "1.2.3"\nnotifications:\n  on_success:\n    - type: "webhook"\n      url: "${slack.url}"\n    - type: "slack"\n      url: "${deadOrigin}/services/T000/B000/SECRETPATH"\n    - type: "slack"\n      url: "${deadOrigin}/services/T000/B001/OTHERPATH"\n`,
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(slack.bodies).toHaveLength(1);
    const warnings = run.stderr.split("\n").filter((line) => line.startsWith("myapp: WARNING: "));
    expect(warnings).toEqual([
      `myapp: WARNING: on_success[1] slack to ${deadOrigin}/… could not be delivered: connection refused (ECONNREFUSED) (2 attempts)`,
      `myapp: WARNING: on_success[2] slack to ${deadOrigin}/… could not be delivered: connection refused (ECONNREFUSED) (2 attempts)`,
    ]);
    expect(run.stderr).not.toContain("OTHERPATH");
    expect(run.stderr).not.toContain("SECRETPATH");
  });

  // Slack reads `<…>` as a link or a mention and `&` as the start of an entity: a failure whose
  // reason quoted a traceback (`in <module>`) lost those words in the channel, and output holding
  // `<!channel>` paged everyone in it. What ship puts into a message is escaped in `text` (the
  // template's own markup is the release author's and stays); `message` and `error` are as said.
  it("escapes what it fills into Slack's text (a reason holding <module> or <!channel>), not the template's <!here>", async () => {
    const said = `File "<string>", line 1, in <module> & <!channel>`;
    await app.release(
      "r1",
      [
        'version: "1.2.3"',
        "post_update_tests:",
        "  - name: health",
        "    command: |",
        `      echo '${said}'; exit 1`,
        "notifications:",
        "  on_failure:",
        `    - { type: slack, url: "${slack.url}", message: "<!here> MyApp update failed: {error}" }`,
        `    - { type: webhook, url: "${slack.url}", message: "failed: {error}" }`,
        "",
      ].join("\n"),
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(1);
    const escaped = 'File "&lt;string&gt;", line 1, in &lt;module&gt; &amp; &lt;!channel&gt;';
    const slackBody = slack.bodies.find((body) => !("app" in body));
    const webhookBody = slack.bodies.find((body) => "app" in body);
    expect(slackBody?.text).toMatch(/^<!here> MyApp update failed: post_update_test "health" exited with 1/);
    expect(slackBody?.text).toContain(escaped);
    expect(webhookBody?.text).toContain(escaped);
    expect(webhookBody?.error).toContain(said);
    expect(webhookBody?.message).toContain(said);
    expect(webhookBody?.text).not.toContain("<");
  });
});
