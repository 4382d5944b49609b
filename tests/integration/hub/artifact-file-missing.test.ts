/**
 * An artifact whose content is gone from the hub's store while a release still names it (its file
 * deleted from data_dir/artifacts by hand, a restore that left artifacts/ out; on PostgreSQL its
 * chunks deleted or left out of a restore): every download was a 500 "internal error" and a bare
 * ENOENT in the hub's log, which agents retried for an hour, the rollout showing them in progress
 * with no error. It is a 404 naming the artifact, what is missing and the repair, the log says it,
 * and uploading the file again serves it. Real hub (in process) over real HTTP, on SQLite and
 * PostgreSQL.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadFile } from "../../../agent/download/download.js";
import { DownloadError } from "../../../agent/download/errors.js";
import { probeUrl } from "../../../agent/download/probe.js";
import { memoryLogger } from "../../../shared/log.js";
import { type HubBackend, hubBackendsPerFile, startTestHub, type TestHub } from "./support.js";

const backends = hubBackendsPerFile();

/** Takes the artifact's content from under its row, as a hand or a partial restore would. */
async function loseContent(backend: HubBackend, t: TestHub, url: string | undefined, sha256: string) {
  if (backend.name === "SQLite") return rm(join(t.dir, "artifacts", sha256));
  const db = postgres(url ?? "", { max: 1, onnotice: () => {} });
  try {
    await db`DELETE FROM artifact_chunks WHERE upload_id = (SELECT upload_id FROM artifacts WHERE sha256 = ${sha256})`;
  } finally {
    await db.end();
  }
}

for (const backend of backends)
  describe.skipIf(!backend.available)(
    `${backend.name}: an artifact whose content is missing on the hub`,
    () => {
      let t: TestHub;
      let url: string | undefined;
      beforeAll(async () => {
        const options = await backend.options();
        url = options.database?.url;
        t = await startTestHub(options);
      });
      afterAll(async () => {
        await t?.stop();
      });
      const lose = (sha256: string) => loseContent(backend, t, url, sha256);

      const upload = async (body: string) => {
        const res = await fetch(`${t.hub.url}/api/v1/artifacts`, {
          method: "PUT",
          headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream" },
          body,
        });
        expect(res.status).toBe(201);
        return ((await res.json()) as { sha256: string }).sha256;
      };
      const download = async (sha256: string, headers: Record<string, string> = {}, method = "GET") => {
        const res = await fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
          method,
          headers: { authorization: `Bearer ${t.operator}`, ...headers },
        });
        const text = await res.text();
        return { status: res.status, text };
      };

      it("is a 404 naming it and the repair, whole or by range; an upload of the file serves it again", async () => {
        const content = "release bytes of web 2.0.0";
        const sha256 = await upload(content);
        await lose(sha256);
        const said = `artifact ${sha256}: its content is missing from the hub's artifact store (deleted or lost since its upload); upload the file again (PUT /api/v1/artifacts) to serve it`;
        for (const headers of [{}, { range: "bytes=5-" }] as Record<string, string>[]) {
          const answer = await download(sha256, headers);
          expect({
            status: answer.status,
            error: (JSON.parse(answer.text) as { error?: string }).error,
          }).toEqual({
            status: 404,
            error: said,
          });
        }
        expect(await upload(content)).toBe(sha256);
        expect(await download(sha256)).toEqual({ status: 200, text: content });
      });

      // A HEAD (an operator's health probe, an agent checking before it downloads) answered 200 with
      // the artifact's size for a file that was gone, while GET said 404: it must agree with GET, and
      // neither answer may carry the artifact's ETag or a Content-Range, which describe bytes not served.
      it("HEAD agrees with GET: 404 without the artifact's validators, whole or by range; 200 once uploaded again", async () => {
        const content = "release bytes of web 2.0.1";
        const sha256 = await upload(content);
        await lose(sha256);
        for (const method of ["HEAD", "GET"])
          for (const headers of [{}, { range: "bytes=5-" }] as Record<string, string>[]) {
            const res = await fetch(`${t.hub.url}/api/v1/artifacts/${sha256}`, {
              method,
              headers: { authorization: `Bearer ${t.operator}`, ...headers },
            });
            await res.arrayBuffer();
            expect({
              method,
              range: headers.range,
              status: res.status,
              etag: res.headers.get("etag"),
              contentRange: res.headers.get("content-range"),
            }).toEqual({ method, range: headers.range, status: 404, etag: null, contentRange: null });
          }
        expect(await upload(content)).toBe(sha256);
        expect(await download(sha256, {}, "HEAD")).toEqual({ status: 200, text: "" });
      });

      // The agent reported "download of … failed: HTTP 404" alone, into the rollout's error column,
      // while the hub's answer said what was missing and how to repair it.
      it("the agent's download and check carry the hub's reason, not the status alone", async () => {
        const sha256 = await upload("release bytes of web 2.0.3");
        await lose(sha256);
        const artifactUrl = `${t.hub.url}/api/v1/artifacts/${sha256}`;
        const headers = { authorization: `Bearer ${t.operator}` };
        const said = `HTTP 404: artifact ${sha256}: its content is missing from the hub's artifact store (deleted or lost since its upload); upload the file again (PUT /api/v1/artifacts) to serve it`;
        const dir = await mkdtemp(join(tmpdir(), "ship-missing-artifact-"));
        try {
          const downloaded = await downloadFile({
            url: artifactUrl,
            dest: join(dir, "artifact"),
            headers,
            log: memoryLogger(),
          }).catch((error: unknown) => error);
          expect(downloaded).toBeInstanceOf(DownloadError);
          expect((downloaded as DownloadError).reason).toBe(said);
          const probed = await probeUrl(artifactUrl, {}, { headers, retries: 0 }).catch(
            (error: unknown) => error,
          );
          expect((probed as DownloadError).reason).toBe(said);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });

      it("a HEAD of a stored artifact keeps no file open", async () => {
        const sha256 = await upload("release bytes of web 2.0.2");
        const open = async () => (await readdir("/proc/self/fd")).length;
        const before = await open();
        for (let i = 0; i < 50; i++) expect((await download(sha256, {}, "HEAD")).status).toBe(200);
        expect(await open()).toBeLessThan(before + 10);
      });
    },
  );
