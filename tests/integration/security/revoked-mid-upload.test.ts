/**
 * A CI token revoked while its upload is under way: the hub re-checks live sessions about once a
 * second, so an upload that ended within that second of `ship-hub token revoke` was answered 201
 * and logged as uploaded by the revoked token. Now the token is checked again once the body is in,
 * before the artifact is stored.
 * Real hub (in process), the real `ship-hub token revoke` CLI on its data dir, real HTTP.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { request } from "node:http";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { request as undiciRequest } from "undici";
import { expect, it } from "vitest";
import { startTestHub } from "../hub/support.js";

const run = promisify(execFile);
const HUB_CLI = resolve("dist/hub/cli/main.js");

it("an upload whose CI token is revoked before its last byte is refused 401 and not logged as uploaded", async () => {
  // A periodic check that never comes within the test: only the check at the end can refuse.
  const hub = await startTestHub({ sessionCheckMs: 600_000 });
  try {
    const { token, record } = await hub.hub.tokens.issue({ role: "ci", ttlSeconds: 3600 });
    const body = randomBytes(256 << 10);
    const req = request(`${hub.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/octet-stream",
        "content-length": body.length,
      },
    });
    const answer = new Promise<{ status: number; body: string }>((done, fail) => {
      req.on("response", (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => done({ status: res.statusCode ?? 0, body: text }));
      });
      req.on("error", fail);
    });
    req.write(body.subarray(0, 1024));
    await run(process.execPath, [HUB_CLI, "token", "revoke", record.jti, "--data-dir", hub.dir]);
    req.end(body.subarray(1024));
    const got = await answer;
    expect(got.status).toBe(401);
    expect(JSON.parse(got.body)).toEqual({ error: expect.stringMatching(/revoked/) });
    const uploaded = (await hub.hub.store.listEvents({ limit: 100 })).filter(
      (e) => e.kind === "artifact.uploaded",
    );
    expect(uploaded).toEqual([]);
    // Nor kept: refused before it was stored, it left no file on the hub's disk.
    expect(await readdir(join(hub.dir, "artifacts"))).toEqual([]);
  } finally {
    await hub.stop();
  }
});

it("an upload still arriving when its token is revoked is told so (401 'token revoked'), not cut with a reset", async () => {
  const hub = await startTestHub({ sessionCheckMs: 100, maxArtifactBytes: 64 << 20 });
  try {
    const { token, record } = await hub.hub.tokens.issue({ role: "ci", ttlSeconds: 3600 });
    // What `ship release publish` does: undici's request with a streamed body, 64 KiB every 50 ms,
    // declared 32 MiB long: it is far from its end when the token is revoked.
    let stopped = false;
    const body = new Readable({
      read() {
        if (stopped) return;
        setTimeout(() => this.push(randomBytes(64 << 10)), 50);
      },
    });
    const answer = undiciRequest(`${hub.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/octet-stream",
        "content-length": String(32 << 20),
      },
      body,
    });
    await new Promise((r) => setTimeout(r, 300));
    await run(process.execPath, [HUB_CLI, "token", "revoke", record.jti, "--data-dir", hub.dir]);
    const res = await answer;
    stopped = true;
    body.destroy();
    expect(res.statusCode).toBe(401);
    expect(await res.body.json()).toEqual({ error: "token revoked" });
    await expect.poll(() => readdir(join(hub.dir, "artifacts")), { timeout: 10_000 }).toEqual([]);
  } finally {
    await hub.stop();
  }
});
