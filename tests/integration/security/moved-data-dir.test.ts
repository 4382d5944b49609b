/**
 * A SQLite hub's data dir moved (or restored from a backup to another place, or named relative to
 * another working directory): the artifacts were read from the path stored when they were uploaded,
 * so every download failed, as a connection cut with no answer (and an ENOENT logged). The hub's
 * own artifacts directory holds them by name. Real hub (in process), real HTTP.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { startTestHub } from "../hub/support.js";

it("artifacts are served from the data dir the hub runs with, after a move; one gone is an answer naming it, not a cut", async () => {
  const base = await mkdtemp(join(tmpdir(), "ship-moved-"));
  const before = join(base, "before");
  const after = join(base, "after");
  const data = Buffer.from("artifact bytes ".repeat(5000));
  const sha256 = createHash("sha256").update(data).digest("hex");
  try {
    const first = await startTestHub({}, before);
    const put = await fetch(`${first.hub.url}/api/v1/artifacts`, {
      method: "PUT",
      headers: { authorization: `Bearer ${first.ci}`, "content-type": "application/octet-stream" },
      body: data,
    });
    expect(put.status).toBe(201);
    await first.stop();
    await rename(before, after);

    const moved = await startTestHub({}, after);
    try {
      const whole = await fetch(`${moved.hub.url}/api/v1/artifacts/${sha256}`, {
        headers: { authorization: `Bearer ${moved.operator}` },
      });
      expect(whole.status).toBe(200);
      expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
      const part = await fetch(`${moved.hub.url}/api/v1/artifacts/${sha256}`, {
        headers: { authorization: `Bearer ${moved.operator}`, range: "bytes=10-19" },
      });
      expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);

      // Removed by hand: an answer, not a connection cut before any answer. Since round 40 that
      // answer is the 404 naming the artifact and the repair (hub/artifact-file-missing pins its
      // wording), where it was a bare 500 "internal error".
      await rm(join(after, "artifacts", sha256));
      const gone = await fetch(`${moved.hub.url}/api/v1/artifacts/${sha256}`, {
        headers: { authorization: `Bearer ${moved.operator}` },
      });
      expect(gone.status).toBe(404);
      const { error } = (await gone.json()) as { error: string };
      expect(error).toContain(`artifact ${sha256}: its content is missing`);
      expect(error).toContain("upload the file again");
    } finally {
      await moved.stop();
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
