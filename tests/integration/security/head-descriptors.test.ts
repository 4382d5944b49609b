/**
 * A HEAD of an artifact opened its file and never read or closed it: each one kept a descriptor
 * for as long as the hub ran (in SQLite mode), and any token that may read the artifact (an agent
 * it was sent to, a CI or operator token) could loop HEADs until the hub could open no socket or
 * file. Real hub (in process), real HTTP; the hub's open descriptors read from /proc.
 */
import { createHash } from "node:crypto";
import { readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

/** Descriptors this process holds on files in the hub's artifacts directory. */
async function artifactDescriptors(): Promise<number> {
  const dir = join(t.dir, "artifacts");
  let n = 0;
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target.startsWith(dir)) n++;
  }
  return n;
}

it.skipIf(process.platform !== "linux")("HEADs of an artifact leave no file open", async () => {
  const data = Buffer.from("artifact bytes ".repeat(5000));
  const sha256 = createHash("sha256").update(data).digest("hex");
  const put = await fetch(`${t.hub.url}/api/v1/artifacts`, {
    method: "PUT",
    headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream" },
    body: data,
  });
  expect(put.status).toBe(201);
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${t.operator}`, ...(i % 2 ? { range: "bytes=0-9" } : {}) },
    });
    expect(res.status).toBe(i % 2 ? 206 : 200);
    expect(res.headers.get("content-length")).toBe(i % 2 ? "10" : String(data.length));
  }
  // A download still reads it whole, and closes it.
  const got = await fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
    headers: { authorization: `Bearer ${t.operator}` },
  });
  expect(Buffer.from(await got.arrayBuffer()).equals(data)).toBe(true);
  await expect.poll(artifactDescriptors, { timeout: 2000 }).toBe(0);
});
