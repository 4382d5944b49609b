/**
 * Artifacts no release names are removed, on SQLite and on a real PostgreSQL: an upload that was
 * never published (CI failed after it, the publish was refused, the token was revoked) stayed on the
 * hub's disk for good, and a CI that retried filled it. Never an artifact a release names, never one
 * uploaded (or uploaded again) within the time left to publish it.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AsyncStore } from "../../../hub/store/async-store.js";
import { sqliteAsyncStore } from "../../../hub/store/sqlite-async-store.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";
import { memoryLogger } from "../../../shared/log.js";
import { type Opened, release, storeSubjects } from "../hub/store-contract/subjects.js";
import { startTestHub } from "../hub/support.js";

const { subjects, start, stop } = storeSubjects();
beforeAll(start, 60_000);
afterAll(stop);

async function* once(data: Buffer): AsyncGenerator<Uint8Array> {
  yield data;
}
const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const upload = (store: AsyncStore, data: Buffer, created: number) =>
  store.writeArtifact(once(data), { maxBytes: 1 << 20, created });
const hubRelease = (id: string, data: Buffer) => ({
  ...release(id),
  source: { type: "hub" as const, sha256: sha(data) },
});

for (const subject of subjects) {
  describe.skipIf(!subject.available)(`unused artifacts: ${subject.name}`, () => {
    let opened: Opened;
    let store: AsyncStore;
    beforeEach(async () => {
      opened = await subject.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });

    it("removes old artifacts no release names, and keeps named and recent ones", async () => {
      const [named, unnamed, recent, again] = ["named", "unnamed", "recent", "again"].map((s) =>
        Buffer.from(`artifact ${s} `.repeat(300)),
      ) as [Buffer, Buffer, Buffer, Buffer];
      await upload(store, named, 1000);
      await upload(store, unnamed, 1000);
      await upload(store, again, 1000);
      await upload(store, recent, 5000);
      await store.insertRelease(hubRelease("r-named", named));
      // Uploaded again (a CI retry, about to publish it): counted from the last upload.
      await upload(store, again, 6000);
      expect(await store.deleteUnusedArtifacts(4000)).toEqual([sha(unnamed)]);
      expect(await store.getArtifactInfo(sha(unnamed))).toBeUndefined();
      expect(await store.readArtifact(sha(unnamed))).toBeUndefined();
      if (opened.admin) {
        // Its chunks went with it: none is left without its artifact.
        const [row] = await opened.admin`SELECT count(*)::int AS n FROM artifact_chunks c
          WHERE NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.upload_id = c.upload_id)`;
        expect(row?.n).toBe(0);
      }
      for (const kept of [named, recent, again]) {
        const parts: Buffer[] = [];
        for await (const part of (await store.readArtifact(sha(kept))) ?? []) parts.push(part);
        expect(Buffer.concat(parts).equals(kept)).toBe(true);
      }
      // Named by a release, it stays however old it is.
      expect(await store.deleteUnusedArtifacts(Number.MAX_SAFE_INTEGER)).toEqual(
        expect.not.arrayContaining([sha(named)]),
      );
      expect(await store.getArtifactInfo(sha(named))).toBeDefined();
      // Removed, the same bytes can be uploaded again.
      await upload(store, unnamed, 7000);
      expect(await store.getArtifactInfo(sha(unnamed))).toMatchObject({ size: unnamed.length });
    });

    // The sweep's leftover rule (files older than the keep time) took a slow upload's file from
    // under it between its last byte and its store, and the upload was answered 500.
    it("a sweep while an upload is under way leaves that upload whole", async () => {
      const data = Buffer.from("under way ".repeat(500));
      const stored = await store.writeArtifact(once(data), {
        maxBytes: 1 << 20,
        created: 1,
        accept: async () => {
          await store.deleteUnusedArtifacts(Number.MAX_SAFE_INTEGER);
        },
      });
      expect(stored).toMatchObject({ sha256: sha(data), size: data.length });
      const parts: Buffer[] = [];
      for await (const part of (await store.readArtifact(sha(data))) ?? []) parts.push(part);
      expect(Buffer.concat(parts).equals(data)).toBe(true);
    });

    it("keeps nothing of an upload its accept check refuses (a token revoked while it arrived)", async () => {
      const data = Buffer.from("refused ".repeat(500));
      await expect(
        store.writeArtifact(once(data), {
          maxBytes: 1 << 20,
          created: 1,
          accept: async () => {
            throw new Error("token revoked");
          },
        }),
      ).rejects.toThrow("token revoked");
      expect(await store.getArtifactInfo(sha(data))).toBeUndefined();
      if (opened.admin) {
        const [row] = await opened.admin`SELECT count(*)::int AS n FROM artifact_chunks`;
        expect(row?.n).toBe(0);
      }
    });
  });
}

describe("unused artifacts: the SQLite hub's files", () => {
  let dir: string;
  let store: AsyncStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-unused-"));
    store = sqliteAsyncStore(new SqliteStore(join(dir, "hub.db")), join(dir, "artifacts"));
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("removes the files of removed artifacts and old leftovers of killed uploads, and nothing else", async () => {
    const kept = Buffer.from("kept ".repeat(400));
    const gone = Buffer.from("gone ".repeat(400));
    await upload(store, kept, Date.now());
    await upload(store, gone, 1000);
    const artifacts = join(dir, "artifacts");
    const old = new Date(Date.now() - 3 * 86_400_000);
    // A killed hub's half-written upload, and a file whose row was never written.
    await writeFile(join(artifacts, ".upload-123-456-0.5"), "half");
    await writeFile(join(artifacts, "a".repeat(64)), "no row");
    // A file a release names, its row missing (a hub.db restored from an older backup): kept.
    const named = Buffer.from("named, row lost ".repeat(100));
    await writeFile(join(artifacts, sha(named)), named);
    await store.insertRelease(hubRelease("r-lost-row", named));
    // Not the hub's: a file of another name, and a link out of the directory.
    await writeFile(join(artifacts, "NOTES"), "mine");
    const outside = join(dir, "outside.txt");
    await writeFile(outside, "outside");
    await symlink(outside, join(artifacts, ".upload-link"));
    for (const name of [".upload-123-456-0.5", "a".repeat(64), "NOTES", sha(named)])
      await utimes(join(artifacts, name), old, old);
    // An upload under way (written just now) is left to finish.
    await writeFile(join(artifacts, ".upload-999-1-0.1"), "arriving");
    expect(await store.deleteUnusedArtifacts(Date.now() - 86_400_000)).toEqual([sha(gone)]);
    expect((await readdir(artifacts)).sort()).toEqual(
      [".upload-999-1-0.1", ".upload-link", "NOTES", sha(kept), sha(named)].sort(),
    );
    expect(existsSync(outside)).toBe(true);
  });
});

describe("unused artifacts: a real hub", () => {
  it("an upload never published is removed a day later; the published one still downloads", async () => {
    let shift = 0;
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const t = await startTestHub({
      timeShiftMs: () => shift,
      unusedArtifacts: { keepMs: 86_400_000, everyMs: 100 },
      log: memoryLogger(lines),
    });
    try {
      const put = async (data: Buffer, token = t.ci) =>
        fetch(`${t.hub.url}/api/v1/artifacts`, {
          method: "PUT",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
          body: data,
        });
      const published = Buffer.from("published ".repeat(1000));
      const abandoned = Buffer.from("abandoned ".repeat(1000));
      expect((await put(published)).status).toBe(201);
      expect((await put(abandoned)).status).toBe(201);
      const posted = await t.api("POST", "/api/v1/releases", {
        token: t.ci,
        body: {
          app: "web",
          version: "1.0.0",
          manifest: 'version: "1.0.0"\n',
          source: { type: "hub", sha256: sha(published) },
        },
      });
      expect(posted.status).toBe(201);
      const artifacts = join(t.dir, "artifacts");
      expect((await readdir(artifacts)).sort()).toEqual([sha(abandoned), sha(published)].sort());
      // Within the day left to publish: both stay through several sweeps.
      await new Promise((r) => setTimeout(r, 400));
      expect(await readdir(artifacts)).toHaveLength(2);

      shift = 2 * 86_400_000;
      await expect.poll(() => readdir(artifacts), { timeout: 20_000 }).toEqual([sha(published)]);
      const download = await fetch(`${t.hub.url}/api/v1/artifacts/${sha(abandoned)}`, {
        headers: { authorization: `Bearer ${t.operator}` },
      });
      expect(download.status).toBe(404);
      const kept = await fetch(`${t.hub.url}/api/v1/artifacts/${sha(published)}`, {
        headers: { authorization: `Bearer ${t.operator}` },
      });
      expect(Buffer.from(await kept.arrayBuffer()).equals(published)).toBe(true);
      expect(lines.find((l) => l.msg === "removed artifacts no release names")?.data).toMatchObject({
        removed: 1,
        sha256: [sha(abandoned)],
      });
    } finally {
      await t.stop();
    }
  });

  it("a hub restarted more often than it sweeps still sweeps: once at start", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ship-hub-"));
    let shift = 0;
    const hourly = { keepMs: 86_400_000, everyMs: 3_600_000 };
    try {
      const first = await startTestHub({ timeShiftMs: () => shift, unusedArtifacts: hourly }, dir);
      const abandoned = Buffer.from("abandoned ".repeat(1000));
      const put = await fetch(`${first.hub.url}/api/v1/artifacts`, {
        method: "PUT",
        headers: { authorization: `Bearer ${first.ci}`, "content-type": "application/octet-stream" },
        body: abandoned,
      });
      expect(put.status).toBe(201);
      await first.stop();
      // Restarted two days later (an upgrade, a host reboot): the next hourly sweep would be an
      // hour away, and a hub restarted within every hour never swept at all.
      shift = 2 * 86_400_000;
      const lines: { level: string; msg: string }[] = [];
      const second = await startTestHub(
        { timeShiftMs: () => shift, unusedArtifacts: hourly, log: memoryLogger(lines) },
        dir,
      );
      try {
        await expect.poll(() => readdir(join(dir, "artifacts")), { timeout: 20_000 }).toEqual([]);
        expect(lines.map((l) => l.msg)).toContain("removed artifacts no release names");
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
