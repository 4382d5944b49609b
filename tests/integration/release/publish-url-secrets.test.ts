/**
 * A release URL's secrets stay with CI: `publish --json` printed a presigned URL's query (its
 * signature) into the CI log, which the hub masks for everyone else; and a `user:password@` in
 * `--url` was sent to the hub before the hub refused it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningHub, startHub } from "../../../hub/server.js";
import { memoryLogger } from "../../../shared/log.js";
import { runRelease } from "./run-cli.js";

const sha256 = "a".repeat(64);

describe("publish --url keeps the URL's secrets", () => {
  let dir: string;
  let hub: RunningHub;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-publish-url-"));
    hub = await startHub({
      host: "127.0.0.1",
      port: 0,
      dataDir: join(dir, "hub"),
      pingIntervalMs: 60_000,
      offlineTimeoutMs: 60_000,
      tickIntervalMs: 1000,
      maxArtifactBytes: 10 << 20,
      maxPayloadBytes: 64 << 10,
      log: memoryLogger(),
    });
    const ci = (await hub.tokens.issue({ role: "ci", ttlSeconds: 600 })).token;
    await writeFile(join(dir, "ci.token"), `${ci}\n`);
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
  });
  afterAll(async () => {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });

  const publish = (hubUrl: string, url: string, ...extra: string[]) =>
    runRelease(
      dir,
      ...extra,
      "publish",
      ...["--hub", hubUrl, "--token-file", join(dir, "ci.token"), "--app", "myapp", "--version", "1.0.0"],
      ...["--url", url, "--sha256", sha256],
    );

  it("--json shows a presigned URL's query values as ***", async () => {
    const url =
      "https://cdn.example.test/myapp.tgz?X-Amz-Credential=cred-secret&X-Amz-Signature=presigned-secret";
    const published = await publish(hub.url, url, "--json");
    expect(published.code, published.err).toBe(0);
    expect(published.out).not.toMatch(/presigned-secret|cred-secret/);
    const shown = JSON.parse(published.out) as { source: { url: string } };
    expect(shown.source.url).toBe(
      "https://cdn.example.test/myapp.tgz?X-Amz-Credential=***&X-Amz-Signature=***",
    );
    // The hub still holds the URL agents need (its API masks it for people).
    const stored = await hub.store.listReleases({ app: "myapp", limit: 10 });
    expect(stored.map((r) => r.source)).toEqual([{ type: "https", url, sha256 }]);
  });

  it("a user:password@ in --url is exit 2 naming --url before the hub is asked", async () => {
    // A hub address nothing listens on: refused before any connection, or it would say so.
    const refused = await publish(
      "http://127.0.0.1:9",
      "https://deploy:hunter2secret@cdn.example.test/myapp.tgz",
    );
    expect(refused.code, refused.err).toBe(2);
    expect(refused.err.trim()).toMatch(/^ship release publish: --url .*must not contain credentials/);
    expect(refused.err).not.toContain("hunter2secret");
  });
});
