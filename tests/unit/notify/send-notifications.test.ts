import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { renderMessage } from "../../../agent/notify/render-message.js";
import { sendNotifications } from "../../../agent/notify/send-notifications.js";
import { memoryLogger } from "../../../shared/log.js";

interface Received {
  headers: IncomingHttpHeaders;
  body: unknown;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A real HTTP peer on 127.0.0.1 answering with the given statuses in turn (last one repeats). */
async function receiver(statuses: number[] = [200]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      res.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 200;
      res.end("ok");
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/SECRETPATH`, received };
}

const event = {
  app: "myapp",
  version: "1.2.3",
  status: "failure" as const,
  error: 'post_update_test "health" exited with 1',
  host: "web-1",
  system_id: "abc123",
  timestamp: "2026-01-01T00:00:00.000Z",
};

describe("renderMessage", () => {
  it("fills every placeholder and leaves unknown braces alone", () => {
    expect(renderMessage("{app} {version} {error} {host} {system_id} {timestamp} {other}", event)).toBe(
      'myapp 1.2.3 post_update_test "health" exited with 1 web-1 abc123 2026-01-01T00:00:00.000Z {other}',
    );
  });
  it("has a default message per status", () => {
    expect(renderMessage(undefined, event)).toContain("failed on web-1");
  });
});

describe("sendNotifications", () => {
  it("POSTs the webhook JSON with its headers and never logs the header secret", async () => {
    const hook = await receiver();
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    await sendNotifications(
      [
        {
          type: "webhook",
          url: hook.url,
          message: "update failed: {error}",
          headers: { Authorization: "Bearer s3cr3t" },
          timeout: 5,
        },
      ],
      event,
      { log: memoryLogger(lines), retryDelayMs: 0 },
    );
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]?.headers.authorization).toBe("Bearer s3cr3t");
    expect(hook.received[0]?.body).toEqual({
      ...event,
      message: `update failed: ${event.error}`,
      text: `update failed: ${event.error}`,
    });
    const logText = JSON.stringify(lines);
    expect(logText).toContain("notification sent");
    expect(logText).not.toContain("s3cr3t");
    expect(logText).not.toContain("SECRETPATH");
  });

  it("sends Slack's {text} format", async () => {
    const hook = await receiver();
    await sendNotifications([{ type: "slack", url: hook.url, message: "{app} v{version} failed" }], event, {
      log: memoryLogger(),
    });
    expect(hook.received[0]?.body).toEqual({ text: "myapp v1.2.3 failed" });
  });

  it("cuts a text over Slack's 40,000 characters at a line, saying how much was not sent (message kept whole)", async () => {
    const slack = await receiver();
    const hook = await receiver();
    const warnings = Array.from(
      { length: 5000 },
      (_, i) => `replaced config/file-${i}.yaml, which ship had not installed`,
    );
    const long = { ...event, warnings };
    await sendNotifications(
      [
        { type: "slack", url: slack.url, message: "{app} v{version} failed" },
        { type: "webhook", url: hook.url, message: "{app} v{version} failed", headers: {}, timeout: 5 },
      ],
      long,
      { log: memoryLogger(), retryDelayMs: 0 },
    );
    const whole = `myapp v1.2.3 failed${warnings.map((w) => `\nWARNING: ${w}`).join("")}`;
    const sent = String((slack.received[0]?.body as { text?: string } | undefined)?.text);
    expect(Array.from(sent).length).toBeLessThanOrEqual(40_000);
    const lines = sent.split("\n");
    const note = lines.at(-1) ?? "";
    const kept = lines.slice(0, -1).join("\n");
    expect(whole.startsWith(`${kept}\n`)).toBe(true);
    expect(note).toBe(
      `… ${whole.length - kept.length} more characters not sent (Slack takes 40,000): the run's report and the host's log have the whole message`,
    );
    const body = hook.received[0]?.body as { text: string; message: string; warnings: string[] };
    expect(body.text).toBe(sent);
    expect(body.message).toBe(whole);
    expect(body.warnings).toHaveLength(5000);
  });

  it("retries once after a 5xx but not after a 4xx", async () => {
    const flaky = await receiver([503, 200]);
    const refusing = await receiver([404]);
    await sendNotifications(
      [
        { type: "webhook", url: flaky.url, headers: {}, timeout: 5 },
        { type: "webhook", url: refusing.url, headers: {}, timeout: 5 },
      ],
      event,
      { log: memoryLogger(), retryDelayMs: 0 },
    );
    expect(flaky.received).toHaveLength(2);
    expect(refusing.received).toHaveLength(1);
  });

  // Slack answers a burst with 429 and Retry-After: sent again a second later, the message met the
  // same 429 and was lost, the log saying "HTTP 429" alone.
  it("waits the Retry-After a 429 asks for before its retry, and says so when it asks for longer than it waits", async () => {
    const times: number[] = [];
    const limited = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        times.push(performance.now());
        if (times.length === 1) res.writeHead(429, { "retry-after": "2" }).end("rate limited");
        else res.writeHead(200).end("ok");
      });
    });
    const patient = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(429, { "retry-after": "3600" }).end("rate limited"));
    });
    let patientAsked = 0;
    patient.on("request", () => {
      patientAsked += 1;
    });
    servers.push(limited, patient);
    await Promise.all([limited, patient].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r))));
    const at = (s: Server) =>
      `http://127.0.0.1:${(s.address() as AddressInfo).port}/services/T0/B0/SECRETTOKEN`;
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const started = performance.now();
    const undelivered = await sendNotifications(
      [
        { type: "slack", url: at(limited) },
        { type: "webhook", url: at(patient), headers: {}, timeout: 5 },
      ],
      event,
      { log: memoryLogger(lines), retryDelayMs: 0 },
    );
    expect(times).toHaveLength(2);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(1900);
    expect(lines.find((l) => l.data?.key === "on_failure[0]")?.msg).toBe("notification sent");
    // One attempt: an hour is past what ship waits (2 × 5 s), and sending it again at once is another 429.
    expect(patientAsked).toBe(1);
    expect(undelivered).toEqual([
      `on_failure[1] webhook to ${new URL(at(patient)).origin}/… could not be delivered: HTTP 429; the endpoint asks to be sent it again in 3600 s (Retry-After), later than ship waits for a notification (10 s in all): not sent again (1 attempt)`,
    ]);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(JSON.stringify(lines)).not.toContain("SECRETTOKEN");
  });

  // An http:// webhook on a server that moved it to https:// logged "HTTP 301" alone: every
  // message lost with no word of where to point the url.
  it("names where a redirecting endpoint leads (its origin only) and does not follow it", async () => {
    const target = await receiver();
    const moving = createServer((_req, res) => {
      res.writeHead(301, { location: `${target.url}?token=SECRET` }).end();
    });
    servers.push(moving);
    await new Promise<void>((r) => moving.listen(0, "127.0.0.1", r));
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    await sendNotifications(
      [
        {
          type: "webhook",
          url: `http://127.0.0.1:${(moving.address() as AddressInfo).port}/hook`,
          headers: {},
          timeout: 5,
        },
      ],
      event,
      { log: memoryLogger(lines), retryDelayMs: 0 },
    );
    expect(target.received).toHaveLength(0);
    const failure = lines.find((l) => l.msg.startsWith("notification could not be delivered"));
    expect(failure?.data?.outcome).toBe(
      `HTTP 301: the server moves it to ${new URL(target.url).origin}/…; POSTs are not followed, so set the webhook's url to where it leads`,
    );
    expect(JSON.stringify(lines)).not.toContain("SECRET");
  });

  it("logs an endpoint that is down and returns normally", async () => {
    const hook = await receiver();
    const deadUrl = hook.url;
    await new Promise((r) => servers.pop()?.close(r));
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    await expect(
      sendNotifications([{ type: "webhook", url: deadUrl, headers: {}, timeout: 5 }], event, {
        log: memoryLogger(lines),
        retryDelayMs: 0,
      }),
    ).resolves.toEqual([
      `on_failure[0] webhook to ${new URL(deadUrl).origin}/… could not be delivered: connection refused (ECONNREFUSED) (2 attempts)`,
    ]);
    const failure = lines.find((l) => l.msg.startsWith("notification could not be delivered"));
    expect(failure?.data?.attempts).toBe(2);
    // In words, as a download failure says it, never Node's "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:PORT".
    expect(failure?.data?.outcome).toBe("connection refused (ECONNREFUSED)");
  });

  it("gives up on a hanging endpoint after its timeout", async () => {
    const server = createServer(() => {
      // Never answers.
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const started = performance.now();
    await sendNotifications([{ type: "webhook", url, headers: {}, timeout: 10 }], event, {
      log: memoryLogger(lines),
      retryDelayMs: 0,
      maxTimeoutMs: 200,
    });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(String(lines.find((l) => l.level === "error")?.data?.outcome)).toContain("timed out");
    server.closeAllConnections();
  });

  // Sent after the update is done and before its result line, a hanging webhook held a run silent
  // for 21 s (twice its 10 s timeout and the retry's pause), which read as ship hanging.
  it("says how long it may wait before it waits for endpoints", async () => {
    const server = createServer(() => {
      // Never answers.
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    await sendNotifications(
      [
        { type: "log", message: "{error}" },
        { type: "webhook", url, headers: {}, timeout: 0.3 },
        { type: "webhook", url, headers: {}, timeout: 0.2 },
      ],
      event,
      { log: memoryLogger(lines), retryDelayMs: 100 },
    );
    server.closeAllConnections();
    const said = lines.findIndex((l) => l.msg.startsWith("sending 2 notifications"));
    expect(lines[said]?.msg).toBe(
      "sending 2 notifications: waiting at most 0.7 s for an endpoint that does not answer",
    );
    expect(said).toBeLessThan(lines.findIndex((l) => l.level === "error"));

    const quiet: typeof lines = [];
    await sendNotifications([{ type: "log", message: "{error}" }], event, { log: memoryLogger(quiet) });
    expect(quiet.some((l) => l.msg.startsWith("sending"))).toBe(false);
  });

  it("writes log notifications to the log at the chosen level", async () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    await sendNotifications([{ type: "log", message: "{app} is now {version}", level: "warn" }], event, {
      log: memoryLogger(lines),
    });
    expect(lines).toContainEqual(expect.objectContaining({ level: "warn", msg: "myapp is now 1.2.3" }));
  });
});
