/**
 * A download of an artifact printed "MaxListenersExceededWarning: Possible EventEmitter memory leak
 * detected" to the hub's stderr, one per download: the hub's bounds on a transfer each listen for
 * its close, and pipeline adds its own. A fleet downloading a release wrote one per agent, and the
 * operator was told of a leak that is not there. Real hub (in process), real HTTP.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
beforeAll(async () => {
  t = await startTestHub();
  process.on("warning", onWarning);
});
afterAll(async () => {
  process.off("warning", onWarning);
  await t.stop();
});

it("downloads (whole, ranged, resumed) warn of no listener leak", async () => {
  const data = Buffer.from("artifact bytes ".repeat(20_000));
  const sha256 = createHash("sha256").update(data).digest("hex");
  const put = await fetch(`${t.hub.url}/api/v1/artifacts`, {
    method: "PUT",
    headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream" },
    body: data,
  });
  expect(put.status).toBe(201);
  for (const range of [undefined, "bytes=0-99", "bytes=1000-"]) {
    const res = await fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
      headers: { authorization: `Bearer ${t.operator}`, ...(range ? { range } : {}) },
    });
    expect(res.status).toBe(range ? 206 : 200);
    await res.arrayBuffer();
  }
  // process warnings are emitted on the next tick.
  await new Promise((r) => setTimeout(r, 50));
  expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
});
