/**
 * What a download of an artifact leaves behind on the hub. Real hub (in process), real HTTP.
 * - A HEAD opened the artifact's file and never read or closed it: each kept a descriptor for as
 *   long as the hub ran (SQLite mode), and any token that may read the artifact (an agent it was
 *   sent to, a CI or operator token) could loop HEADs until the hub could open no socket or file.
 * - Several ranges, or a unit other than bytes, were answered 416 "range not satisfiable": RFC
 *   9110 lets a server ignore them and answer whole, which agents and curl take.
 * - Each download printed "MaxListenersExceededWarning: Possible EventEmitter memory leak detected"
 *   to the hub's stderr: the hub's bounds on a transfer each listen for its close, and pipeline
 *   adds its own. A fleet downloading a release wrote one per agent, of a leak that is not there.
 */
import { createHash } from "node:crypto";
import { readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestHub, type TestHub, uploadArtifact } from "../hub/support.js";

let t: TestHub;
const data = Buffer.from("artifact bytes ".repeat(20_000));
const sha256 = createHash("sha256").update(data).digest("hex");
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
beforeAll(async () => {
  t = await startTestHub();
  expect((await uploadArtifact(t, data)).status).toBe(201);
  process.on("warning", onWarning);
});
afterAll(async () => {
  process.off("warning", onWarning);
  await t.stop();
});

const download = (init: { method?: string; range?: string } = {}) =>
  fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${t.operator}`, ...(init.range ? { range: init.range } : {}) },
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
  for (let i = 0; i < 40; i++) {
    const res = await download({ method: "HEAD", ...(i % 2 ? { range: "bytes=0-9" } : {}) });
    expect(res.status).toBe(i % 2 ? 206 : 200);
    expect(res.headers.get("content-length")).toBe(i % 2 ? "10" : String(data.length));
  }
  expect(await artifactDescriptors()).toBe(0);
  // A download still reads it whole, and closes it.
  expect(Buffer.from(await (await download()).arrayBuffer()).equals(data)).toBe(true);
  await expect.poll(artifactDescriptors, { timeout: 10_000 }).toBe(0);
});

it("downloads (whole, ranged, resumed) warn of no listener leak", async () => {
  for (const range of [undefined, "bytes=0-99", "bytes=1000-"]) {
    const res = await download(range ? { range } : {});
    expect(res.status).toBe(range ? 206 : 200);
    await res.arrayBuffer();
  }
  // process warnings are emitted on the next tick.
  await new Promise((r) => setTimeout(r, 50));
  expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
});

it("several ranges, or a unit other than bytes, are answered whole, not 'range not satisfiable'", async () => {
  for (const range of ["bytes=0-9,20-29", "bytes=0-0,-1", "items=0-1"]) {
    const res = await download({ range });
    expect(res.status, range).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data), range).toBe(true);
  }
  // One range past the end is still refused.
  const past = await download({ range: `bytes=${data.length + 10}-` });
  expect(past.status).toBe(416);
  await past.arrayBuffer();
});
