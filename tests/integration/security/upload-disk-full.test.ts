/**
 * A CI upload to a hub whose disk is full (a real 2 MB tmpfs under its data dir): CI was answered
 * "500 internal error", which says nothing of what to do, and a retry failed the same. Now a 507
 * that names the full disk; nothing of the upload stays, and the hub goes on serving.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { memoryLogger } from "../../../shared/log.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { startTestHub, type TestHub } from "../hub/support.js";

let base: string;
let mounted = false;
let t: TestHub | undefined;
const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "ship-full-"));
  const dataDir = join(base, "data");
  await mkdir(dataDir);
  mounted = mountTmpfs(dataDir, "2m");
  if (mounted) t = await startTestHub({ log: memoryLogger(lines) }, dataDir);
});
afterAll(async () => {
  await t?.stop();
  if (mounted) unmountTmpfs(join(base, "data"));
  await rm(base, { recursive: true, force: true });
});

const upload = (hub: TestHub, bytes: Buffer) =>
  fetch(`${hub.hub.url}/api/v1/artifacts`, {
    method: "PUT",
    headers: { authorization: `Bearer ${hub.ci}`, "content-type": "application/octet-stream" },
    body: bytes,
  });

it("an upload that does not fit is a 507 naming the full disk; nothing stays, and a smaller one is stored", async (ctx) => {
  if (!t) return ctx.skip();
  const refused = await upload(t, randomBytes(3 << 20));
  expect(refused.status).toBe(507);
  expect(await refused.json()).toEqual({
    error:
      "the hub's disk is full: the artifact could not be stored (nothing of it was kept); free space on the hub, then upload again",
  });
  expect(await readdir(join(t.dir, "artifacts"))).toEqual([]);
  expect(lines.filter((l) => l.level === "error").map((l) => l.msg)).toEqual([
    "an artifact upload found no room: the hub's disk is full",
  ]);
  const fits = await upload(t, randomBytes(100 << 10));
  expect(fits.status).toBe(201);
});
