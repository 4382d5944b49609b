/**
 * A release's artifact can hold its configs' secrets: the hub keeps artifacts readable by its own
 * user only, also in a data dir the operator made with the usual 0755 (the hub makes the data dir
 * 700 only when it creates it).
 */
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../hub/support.js";

let root: string;
let t: TestHub;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-hub-artifact-mode-"));
  const dataDir = join(root, "hub-data");
  await mkdir(dataDir);
  await chmod(dataDir, 0o755);
  t = await startTestHub({}, dataDir);
});
afterAll(async () => {
  await t.stop();
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("artifacts on disk", () => {
  it("an uploaded artifact is 0600 in an artifacts directory of 0700", async () => {
    const body = Buffer.from("DB_PASSWORD=s3cret\n");
    const put = await fetch(`${t.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream" },
      body,
    });
    expect(put.status).toBe(201);
    const sha256 = createHash("sha256").update(body).digest("hex");
    const dir = join(t.dir, "artifacts");
    expect(await readdir(dir)).toEqual([sha256]);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(dir, sha256))).toBe(0o600);
  });
});

describe("artifacts an older hub stored", () => {
  it("an artifacts directory left 0755 (artifacts 0644) is closed to other users when the hub starts", async () => {
    const dataDir = join(root, "upgraded");
    const dir = join(dataDir, "artifacts");
    await mkdir(dir, { recursive: true });
    await chmod(dataDir, 0o755);
    await chmod(dir, 0o755);
    await writeFile(join(dir, "0".repeat(64)), "DB_PASSWORD=s3cret\n", { mode: 0o644 });
    const upgraded = await startTestHub({}, dataDir);
    try {
      // Without the fix: 0755, every artifact readable by any local user.
      expect(await modeOf(dir)).toBe(0o700);
    } finally {
      await upgraded.stop();
    }
  });
});
