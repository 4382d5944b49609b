/**
 * `ship release http`/`sftp`/`git` refuse to pack a private key; an archive CI made with its own
 * tar (or with `http --allow-private-key`) was signed and uploaded to the hub all the same, and so
 * reached every server. `sign` and `publish --artifact` refuse it too: exit 2 naming the archive
 * and the entry, nothing written or uploaded; `--allow-private-key ENTRY` lets one through.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningHub, startHub } from "../../../hub/server.js";
import { memoryLogger } from "../../../shared/log.js";
import { runRelease } from "./run-cli.js";

const KEYS: Record<string, string> = {
  "config/deploy_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----\n",
  "tls/server.pem": "cert\n-----BEGIN EC PRIVATE KEY-----\nMHc=\n-----END EC PRIVATE KEY-----\n",
};

describe("sign and publish refuse an archive holding a private key", () => {
  let dir: string;
  let hub: RunningHub;
  let ci: string;
  let archive: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-archived-key-"));
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
    ci = (await hub.tokens.issue({ role: "ci", ttlSeconds: 600 })).token;
    await writeFile(join(dir, "ci.token"), `${ci}\n`);
    // An archive made by CI's own tar, as the README's shell recipe allows.
    const root = join(dir, "build/myapp-1.0.0");
    await mkdir(join(root, "config"), { recursive: true });
    await mkdir(join(root, "tls"), { recursive: true });
    await writeFile(join(root, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(root, "app.py"), "print('v1')\n");
    await writeFile(
      join(root, "tls/ca.pem"),
      "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n",
    );
    for (const [path, text] of Object.entries(KEYS)) await writeFile(join(root, path), text);
    archive = join(dir, "myapp-1.0.0.tar.gz");
    execFileSync("tar", ["czf", archive, "-C", join(dir, "build"), "myapp-1.0.0"]);
    expect((await runRelease(dir, "keygen", "--out", "keys")).code).toBe(0);
  });
  afterAll(async () => {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("sign: exit 2 naming the archive and the entries, no .sig written; --allow-private-key lets them through", async () => {
    for (const manifest of [[], ["--manifest", join(dir, "build/myapp-1.0.0/update-manifest.yaml")]]) {
      const refused = await runRelease(dir, "sign", archive, "--key", "keys/ship-release.key", ...manifest);
      expect(refused.code, refused.err).toBe(2);
      expect(refused.err.trim().split("\n")).toHaveLength(1);
      expect(refused.err).toContain(
        `${archive} holds a private key in myapp-1.0.0/config/deploy_key (and 1 more: myapp-1.0.0/tls/server.pem); signed, it would go onto every server`,
      );
      await expect(stat(`${archive}.sig`)).rejects.toThrow();
    }
    const allowed = await runRelease(
      dir,
      "sign",
      archive,
      "--key",
      "keys/ship-release.key",
      // As the release names the file, or as the archive does.
      ...["--allow-private-key", "config/deploy_key", "--allow-private-key", "./myapp-1.0.0/tls/server.pem"],
    );
    expect(allowed.code, allowed.err).toBe(0);
    await rm(`${archive}.sig`);
  });

  it("publish --artifact: exit 2 before anything is uploaded; --allow-private-key lets it through", async () => {
    const publish = (...extra: string[]) =>
      runRelease(
        dir,
        "publish",
        ...["--hub", hub.url, "--token-file", join(dir, "ci.token"), "--app", "myapp", "--version", "1.0.0"],
        ...["--artifact", archive, ...extra],
      );
    const refused = await publish();
    expect(refused.code, refused.err).toBe(2);
    expect(refused.err).toContain(`${archive} holds a private key in myapp-1.0.0/config/deploy_key`);
    expect(refused.err).toContain("published, it would go onto every server");
    const res = await fetch(`${hub.url}/api/v1/releases?app=myapp`, {
      headers: { authorization: `Bearer ${ci}` },
    });
    expect(((await res.json()) as { releases: unknown[] }).releases).toEqual([]);
    const artifacts = await readdir(join(dir, "hub/artifacts")).catch(() => []);
    expect(artifacts.filter((name) => /^[0-9a-f]{64}$/.test(name))).toEqual([]);
    const allowed = await publish(
      ...["--allow-private-key", "config/deploy_key", "--allow-private-key", "tls/server.pem"],
    );
    expect(allowed.code, allowed.err).toBe(0);
  });
});
