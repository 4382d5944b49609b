/**
 * A JSON body whose token is revoked (or expires) while it is still arriving: the hub answers 401
 * and closes the connection at its next session check, without waiting for the rest. Before, it
 * read on for as long as the client liked (2 minutes of silence), so a revoked CI token kept its
 * 20 slow bodies, and its places among the token's requests under way, after `token revoke`.
 * Real hub (in process), the real `ship-hub token revoke` CLI on its data dir, raw TCP clients.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../hub/support.js";

const run = promisify(execFile);
const HUB_CLI = resolve("dist/hub/cli/main.js");

let t: TestHub;
beforeAll(async () => {
  if (!existsSync(HUB_CLI)) throw new Error(`${HUB_CLI} missing: build first (npm test does)`);
  t = await startTestHub({ sessionCheckMs: 100 });
});
afterAll(async () => {
  await t.stop();
});

/** Sends the headers and the first bytes of a body it never finishes; resolves with all the hub sent once it closed. */
function unfinishedBody(path: string, token: string, declared: number, first: string) {
  const socket = connect(Number(new URL(t.hub.url).port), "127.0.0.1");
  let got = "";
  socket.on("data", (chunk: Buffer) => {
    got += chunk.toString();
  });
  const closed = new Promise<string>((done, fail) => {
    socket.on("close", () => done(got));
    socket.on("error", fail);
  });
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n${first}`,
  );
  return { closed, socket, received: () => got };
}

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return what();
}

it("a CI token revoked while its JSON bodies arrive: each is answered 401 'token revoked' and closed at once", async () => {
  const { token, record } = await t.hub.tokens.issue({ role: "ci", ttlSeconds: 3600 });
  const bodies = Array.from({ length: 3 }, () =>
    unfinishedBody("/api/v1/releases", token, 4096, '{"app":"slow","version":"1.0.0",'),
  );
  // Each has passed the token check and its body is being read.
  await new Promise((r) => setTimeout(r, 300));
  for (const b of bodies) expect(b.received()).toBe("");
  await run(process.execPath, [HUB_CLI, "token", "revoke", record.jti, "--data-dir", t.dir]);
  for (const b of bodies) {
    // The client sends nothing more: the hub must not wait for the rest of the body.
    expect(await until(() => b.socket.destroyed || b.socket.readableEnded, 5000)).toBe(true);
    const answer = await b.closed;
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toEqual({ error: "token revoked" });
  }
  expect(await t.hub.store.releaseVersions("slow")).toEqual([]);
});

it("an operator token that expires while its rollout body arrives is answered 401 'token expired'", async () => {
  const { token } = await t.hub.tokens.issue({ role: "operator", ttlSeconds: 2 });
  const body = unfinishedBody("/api/v1/rollouts", token, 4096, '{"release":');
  const answer = await Promise.race([
    body.closed,
    new Promise<string>((r) => setTimeout(() => r("still open after 6 s"), 6000)),
  ]);
  body.socket.destroy();
  expect(answer).toMatch(/^HTTP\/1\.1 401 /);
  expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toEqual({ error: "token expired" });
});

it("a body that finishes is not cut by the check (its token in force)", async () => {
  const { token } = await t.hub.tokens.issue({ role: "ci", ttlSeconds: 3600 });
  const json = JSON.stringify({
    app: "finished",
    version: "1.0.0",
    manifest: 'version: "1.0.0"\n',
    source: { type: "git", commit: "abcdef1" },
  });
  const body = unfinishedBody("/api/v1/releases", token, Buffer.byteLength(json), json.slice(0, 10));
  // Several session checks pass while the body arrives.
  await new Promise((r) => setTimeout(r, 400));
  body.socket.end(json.slice(10));
  const answer = await body.closed;
  expect(answer).toMatch(/^HTTP\/1\.1 201 /);
  expect(await t.hub.store.releaseVersions("finished")).toEqual(["1.0.0"]);
});
