import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import { HubReleaseSource } from "../../../agent/daemon/hub-release-source.js";
import type { InstalledRelease } from "../../../agent/sources/types.js";
import { AgentConfig, type Source } from "../../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import type { DeployRelease } from "../../../shared/protocol/messages.js";
import { signRelease } from "../../../shared/signing/signature.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, sftpSourceOf, startSshd } from "../../support/servers/sshd.js";
import { makeTestCert } from "../../support/servers/tls-cert.js";

describe.skipIf(!hasProgram("git"))("hub release source: a git release with this host's clone", () => {
  let dir: string;
  let commits: string[];
  let config: AgentConfig;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", args, {
      cwd,
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "ci",
        GIT_AUTHOR_EMAIL: "ci@example.test",
        GIT_COMMITTER_NAME: "ci",
        GIT_COMMITTER_EMAIL: "ci@example.test",
      },
    }).trim();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-git-"));
    const origin = join(dir, "origin");
    await mkdir(origin);
    git(origin, "init", "-q", "-b", "main");
    commits = [];
    for (const version of ["5.0.0", "6.0.0"]) {
      await writeRelease(origin, { version });
      git(origin, "add", "-A");
      git(origin, "commit", "-q", "-m", `release ${version}`);
      commits.push(git(origin, "rev-parse", "HEAD"));
    }
    git(dir, "clone", "-q", origin, join(dir, "clone"));
    config = AgentConfig.parse({
      general: { state_file: join(dir, "state", "state.json"), backup_dir: join(dir, "state", "backups") },
      sources: {
        [APP]: {
          type: "git",
          app_dir: join(dir, "app"),
          local_path: join(dir, "clone"),
          remote: "origin",
          branch: "main",
        },
      },
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sourceFor = async (
    version: string,
    commit: string,
    source: Source = config.sources[APP] as Source,
  ) => {
    const release: DeployRelease = {
      id: `r-${version}`,
      app: APP,
      version,
      manifest: `version: "${version}"\n`,
      source: { type: "git", commit },
    };
    return new HubReleaseSource({
      app: APP,
      release,
      source,
      config,
      hubUrl: "http://127.0.0.1:9",
      token: "never-sent-to-git",
      context: { stateDir: join(dir, "state", "sources"), log: memoryLogger() },
    });
  };

  it("exports exactly the pinned commit's tree (not the branch head) and moves the clone there on commit", async () => {
    const source = await sourceFor("5.0.0", commits[0]?.slice(0, 12) ?? "");
    expect((await source.check()).available).toBe(true);
    const staging = join(dir, "staging-1");
    const fetched = await source.fetch(staging);
    expect(fetched.id).toBe(commits[0]);
    expect(await readFile(join(staging, "app.txt"), "utf8")).toBe("5.0.0\n");
    await source.commit(fetched);
    expect(git(join(dir, "clone"), "rev-parse", "HEAD")).toBe(commits[0]);
  });

  it("refuses a commit whose manifest is not the version the hub announced", async () => {
    const source = await sourceFor("9.9.9", commits[1] ?? "");
    await expect(source.fetch(join(dir, "staging-2"))).rejects.toBeInstanceOf(VerificationError);
  });

  // Both named the staging copy (…/work/APP.staging/update-manifest.yaml), which is gone by the time
  // the operator reads the report on the hub, and said nothing of which release it was.
  it("names the hub release (id, app, version) in a version mismatch and a manifest it cannot read, never staging", async () => {
    const mismatch = await (await sourceFor("9.9.9", commits[1] ?? ""))
      .fetch(join(dir, "staging-named-1"))
      .catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(VerificationError);
    expect(String(mismatch)).toContain(
      `hub release r-9.9.9 (${APP} 9.9.9)!update-manifest.yaml: says version 6.0.0, the hub's release says 9.9.9`,
    );
    expect(String(mismatch)).not.toContain("staging-named");

    const origin = join(dir, "origin");
    await writeFile(
      join(origin, "update-manifest.yaml"),
      Buffer.from('version: "6.0.0"\n# caf\xe9\n', "latin1"),
    );
    git(origin, "commit", "-q", "-am", "latin-1 manifest");
    const commit = git(origin, "rev-parse", "HEAD");
    git(origin, "reset", "-q", "--hard", commits[1] ?? "");
    const unreadable = await (await sourceFor("6.0.0", commit))
      .fetch(join(dir, "staging-named-2"))
      .catch((e: unknown) => e);
    expect(unreadable).toBeInstanceOf(BadInputError);
    expect(String(unreadable)).toContain(`hub release r-6.0.0 (${APP} 6.0.0)!update-manifest.yaml:2:6 `);
    expect(String(unreadable)).not.toContain("staging-named");

    const fetched = await (await sourceFor("6.0.0", commits[1] ?? "")).fetch(join(dir, "staging-named-3"));
    expect(fetched.manifestName).toBe(`hub release r-6.0.0 (${APP} 6.0.0)!update-manifest.yaml`);
  });

  // The version check read the archive's manifest as UTF-8 unchecked: a directory of that name
  // ended in a bare "EEXIST", a Latin-1 manifest was compared as U+FFFD text. Read as the loader does.
  it.each([
    ["a directory", "directory", /update-manifest\.yaml.*is a directory/],
    ["Latin-1 text", Buffer.from('version: "6.0.0"\ndescription: "caf\xe9"\n', "latin1"), /:2:18 .*Latin-1/],
    ["UTF-16 text", Buffer.from('\ufeffversion: "6.0.0"\n', "utf16le"), /UTF-16/],
  ] as const)(
    "refuses a commit whose manifest is %s as the manifest loader does (exit 2, one line)",
    async (_what, content, words) => {
      const origin = join(dir, "origin");
      await rm(join(origin, "update-manifest.yaml"), { recursive: true, force: true });
      if (content === "directory") {
        await mkdir(join(origin, "update-manifest.yaml"));
        await writeFile(join(origin, "update-manifest.yaml", "x.txt"), "x\n");
      } else await writeFile(join(origin, "update-manifest.yaml"), content);
      git(origin, "add", "-A");
      git(origin, "commit", "-q", "-m", "bad manifest");
      const commit = git(origin, "rev-parse", "HEAD");
      git(origin, "reset", "-q", "--hard", commits[1] ?? "");
      const source = await sourceFor("6.0.0", commit);
      const error = await source.fetch(await mkdtemp(join(dir, "staging-bad-"))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadInputError);
      expect(String(error)).toMatch(words);
      expect(String(error)).not.toMatch(/EEXIST|\n/);
    },
  );

  it("refuses a git release on a host whose source for the app is not a clone", async () => {
    const local: Source = AgentConfig.parse({
      sources: { [APP]: { type: "local", app_dir: join(dir, "app"), path: join(dir, "origin") } },
    }).sources[APP] as Source;
    const source = await sourceFor("6.0.0", commits[1] ?? "", local);
    const error = await source.fetch(join(dir, "staging-3")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect(String(error)).toMatch(/no clone/);
  });
});

describe("hub release source: [trust] keys make the agent refuse what CI did not sign", () => {
  let dir: string;
  let server: Server;
  let url: string;
  let body: Buffer;
  /** Requests the release server answered. */
  let gets = 0;
  const keys = generateKeyPairSync("ed25519");
  const publicPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
  const privatePem = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-trust-"));
    await writeRelease(join(dir, "tree"), { version: "7.0.0" });
    await createTar({ gzip: true, file: join(dir, "r.tar.gz"), cwd: join(dir, "tree"), portable: true }, [
      ".",
    ]);
    body = await readFile(join(dir, "r.tar.gz"));
    server = createServer((_req, res) => {
      gets++;
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/r.tar.gz`;
  });
  afterAll(async () => {
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(dir, { recursive: true, force: true });
  });

  const attempt = async (
    signature: string | undefined,
    staging: string,
    installed?: InstalledRelease,
    checkFirst = false,
    /** The app the hub says the release is of; the source installs it as APP. */
    releaseApp = APP,
  ) => {
    const manifest = await readFile(join(dir, "tree", "update-manifest.yaml"), "utf8");
    const config = AgentConfig.parse({
      sources: { [APP]: { type: "local", app_dir: join(dir, "app"), path: join(dir, "tree") } },
      trust: { keys: [publicPem] },
    });
    const source = new HubReleaseSource({
      app: APP,
      release: {
        id: "r-7",
        app: releaseApp,
        version: "7.0.0",
        manifest,
        source: { type: "http", url, sha256: createHash("sha256").update(body).digest("hex") },
        ...(signature === undefined ? {} : { signature }),
      },
      source: config.sources[APP] as Source,
      config,
      hubUrl: "http://127.0.0.1:9",
      token: "t",
      context: {
        stateDir: join(dir, "state"),
        log: memoryLogger(),
        retryDelayMs: 0,
        ...(installed === undefined ? {} : { installed: async () => installed }),
      },
    });
    if (checkFirst) await source.check();
    return source.fetch(join(dir, staging));
  };
  const signed = async (version: string, app = APP) =>
    JSON.stringify(
      signRelease(
        {
          app,
          version,
          artifactSha256: createHash("sha256").update(body).digest("hex"),
          manifestSha256: createHash("sha256")
            .update(await readFile(join(dir, "tree", "update-manifest.yaml"), "utf8"))
            .digest("hex"),
        },
        privatePem,
      ),
    );

  it("a check, then the fetch, asks the release server once: the check's answer is the download", async () => {
    gets = 0;
    const fetched = await attempt(await signed("7.0.0"), "once", undefined, true);
    expect(await readFile(join(fetched.dir, "app.txt"), "utf8")).toBe("7.0.0\n");
    expect(gets).toBe(1);
  });

  it("extracts a release CI signed with a trusted key", async () => {
    const fetched = await attempt(await signed("7.0.0"), "ok");
    expect(await readFile(join(fetched.dir, "app.txt"), "utf8")).toBe("7.0.0\n");
  });

  it("leaves out of staging a file the app already holds, lists it, and writes it on demand", async () => {
    const appDir = join(dir, "app");
    await mkdir(join(appDir, "data"), { recursive: true });
    await writeFile(join(appDir, "data/records.txt"), "sample data shipped with 7.0.0\n");
    const st = await lstat(join(appDir, "data/records.txt"));
    const sha256 = createHash("sha256").update("sample data shipped with 7.0.0\n").digest("hex");
    const file = {
      sha256,
      size: st.size,
      mode: st.mode & 0o7777,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      ctimeMs: st.ctimeMs,
    };
    const fetched = await attempt(await signed("7.0.0"), "held", {
      version: "6.0.0",
      appDir,
      files: IndexFiles.of({ "data/records.txt": file }),
    });
    expect(existsSync(join(fetched.dir, "data/records.txt"))).toBe(false);
    expect(fetched.listing?.files.get("data/records.txt")).toMatchObject({ type: "file", sha256 });
    await fetched.materialize?.(["data/records.txt"]);
    expect(await readFile(join(fetched.dir, "data/records.txt"), "utf8")).toBe(
      "sample data shipped with 7.0.0\n",
    );
  });

  it("checks the signature against the app it installs, not the app the hub names: another app's signed release is refused", async () => {
    await expect(
      attempt(await signed("7.0.0", "other"), "foreign", undefined, false, "other"),
    ).rejects.toThrow(/app/);
    expect(existsSync(join(dir, "foreign", "app.txt"))).toBe(false);
  });

  it("refuses an unsigned release and one whose signature covers another version, extracting nothing", async () => {
    await expect(attempt(undefined, "unsigned")).rejects.toBeInstanceOf(VerificationError);
    await expect(attempt(await signed("7.0.1"), "other")).rejects.toBeInstanceOf(VerificationError);
    expect(existsSync(join(dir, "unsigned", "app.txt"))).toBe(false);
    expect(existsSync(join(dir, "other", "app.txt"))).toBe(false);
  });
});

// A hub download had only a 60 s idle timeout: a release URL that sent a byte every half second
// held the app's update, and its lock, for ever. The app's source's max_download_seconds (default
// 3600) now ends it, as in timer mode. Real trickling HTTP server.
describe("hub release source: an artifact URL that trickles", () => {
  let dir: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-trickle-"));
    server = createServer((_req, res) => {
      res.writeHead(200, { "content-length": "100000" });
      const tick = setInterval(() => res.write("x"), 500);
      res.on("close", () => clearInterval(tick));
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/r.tar.gz`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(dir, { recursive: true, force: true });
  });

  // A hub-only app (type = "hub") had the fixed hour: the key was "unknown; ignored", so a large
  // artifact on a slow link failed every update with no way to give it longer.
  // A git or sftp app (its own clone or server for git/sftp releases; the hub's http ones too) had
  // the fixed 60 s / hour, its own timeout_seconds and max_download_seconds ignored.
  const fetchKeys = {
    http: () => ({ url }),
    hub: () => ({}),
    git: () => ({ local_path: join(dir, "clone") }),
    sftp: () => ({ hostname: "127.0.0.1", username: "u", key_filename: "/k", remote_path: "/r" }),
  };
  it.each(["http", "hub", "git", "sftp"] as const)(
    "is given up after the app's max_download_seconds (type = %s)",
    async (type) => {
      const config = AgentConfig.parse({
        sources: {
          [APP]: {
            type,
            ...fetchKeys[type](),
            app_dir: join(dir, "app"),
            timeout_seconds: 5,
            max_download_seconds: 2,
          },
        },
      });
      const source = new HubReleaseSource({
        app: APP,
        release: {
          id: "r-8",
          app: APP,
          version: "8.0.0",
          manifest: 'version: "8.0.0"\n',
          source: { type: "http", url, sha256: "0".repeat(64) },
        },
        source: config.sources[APP] as Source,
        config,
        hubUrl: "http://127.0.0.1:9",
        token: "t",
        context: { stateDir: join(dir, "state"), log: memoryLogger(), retryDelayMs: 0 },
      });
      const started = Date.now();
      const err = await source.fetch(join(dir, "staging")).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(String(err)).toContain(
        "not done after 2 s, the most [sources.sample] max_download_seconds allows",
      );
    },
  );
});

// A hub download had no size limit: a release URL (or a hub) that kept sending filled the disk for
// max_download_seconds (an hour) before the sha256 the release names was ever compared.
describe("hub release source: an artifact URL that keeps sending", () => {
  let dir: string;
  let server: Server;
  let base: string;
  const sent = new Map<string, number>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-endless-"));
    server = createServer((req, res) => {
      const path = req.url ?? "/";
      // A 3 GiB Content-Length is refused before a byte is read; without one, as the bytes pass the limit.
      res.writeHead(200, path.startsWith("/declared") ? { "content-length": String(3 * 1024 ** 3) } : {});
      const chunk = Buffer.alloc(64 * 1024);
      const more = () => {
        while (!res.destroyed) {
          sent.set(path, (sent.get(path) ?? 0) + chunk.length);
          if (!res.write(chunk)) return;
        }
      };
      res.on("drain", more);
      more();
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(dir, { recursive: true, force: true });
  });

  const fetchFrom = async (path: string, own: Record<string, unknown>) => {
    const config = AgentConfig.parse({ sources: { [APP]: { app_dir: join(dir, "app"), ...own } } });
    const source = new HubReleaseSource({
      app: APP,
      release: {
        id: "r-10",
        app: APP,
        version: "10.0.0",
        manifest: 'version: "10.0.0"\n',
        source: { type: "http", url: `${base}${path}`, sha256: "0".repeat(64) },
      },
      source: config.sources[APP] as Source,
      config,
      hubUrl: "http://127.0.0.1:9",
      token: "t",
      context: { stateDir: join(dir, "state"), log: memoryLogger(), retryDelayMs: 0 },
    });
    return source.fetch(join(dir, "staging")).catch((e: unknown) => e);
  };

  it.each([
    ["http", { type: "http", url: "http://127.0.0.1:9/r.tar.gz" }],
    ["hub", { type: "hub" }],
    ["git", { type: "git", local_path: "/nonexistent/clone" }],
  ])("is given up past the app's max_download_mb (type = %s)", async (type, own) => {
    const err = await fetchFrom(`/endless-${type}`, { ...own, max_download_mb: 1 });
    expect(err).toBeInstanceOf(VerificationError);
    expect(String(err)).toContain(`the body runs past [sources.${APP}] max_download_mb = 1`);
    // Cut where the limit is, not at max_download_seconds: a few MB at most (the socket's buffers).
    expect(sent.get(`/endless-${type}`)).toBeLessThan(16 * 1024 * 1024);
  });

  it("an app whose source has no max_download_mb (local) gets its default, named with the keys that set it", async () => {
    const err = await fetchFrom("/declared", { type: "local", path: join(dir, "release") });
    expect(err).toBeInstanceOf(VerificationError);
    expect(String(err)).toMatch(
      /size 3072\.0 MB is over a hub download's limit \(2048 MB; a source of any type but local sets it with max_download_mb\)/,
    );
  });
});

// The check before a hub download (its answer is the download's first response) had the client's
// fixed 60 s of silence whatever the app's timeout_seconds, and said only "no answer in time".
describe("hub release source: an artifact URL that never answers", () => {
  let dir: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-silent-"));
    server = createServer(() => undefined);
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/r.tar.gz`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(dir, { recursive: true, force: true });
  });

  it("is given up after the app's timeout_seconds, naming the seconds and the key", async () => {
    const config = AgentConfig.parse({
      sources: { [APP]: { type: "hub", app_dir: join(dir, "app"), timeout_seconds: 1 } },
    });
    const source = new HubReleaseSource({
      app: APP,
      release: {
        id: "r-9",
        app: APP,
        version: "9.0.0",
        manifest: 'version: "9.0.0"\n',
        source: { type: "http", url, sha256: "0".repeat(64) },
      },
      source: config.sources[APP] as Source,
      config,
      hubUrl: "http://127.0.0.1:9",
      token: "t",
      context: { stateDir: join(dir, "state"), log: memoryLogger(), retryDelayMs: 0 },
    });
    const started = Date.now();
    const err = await source.check().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(String(err)).toContain(
      "no answer within 1 s ([sources.sample] timeout_seconds) (UND_ERR_HEADERS_TIMEOUT)",
    );
    // Kept for a later try, not reported failed: the silence may pass.
    expect(source.transientFailure).toContain("no answer within 1 s");
  });
});

// A release URL on the app's own https origin whose certificate this host cannot verify (an
// internal CA without ca_file) failed "download … failed: unable to verify the first certificate"
// in hub mode, where the same app's timer run names sources.APP.ca_file (exit 2 there).
describe("hub release source: an https artifact URL this host cannot verify", () => {
  let dir: string;
  let server: HttpsServer;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-untrusted-"));
    const cert = await makeTestCert(dir);
    server = createHttpsServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.end("x"));
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(dir, { recursive: true, force: true });
  });

  /** `own` is the app's [sources] entry (default: https on the test server's origin). */
  const sourceFor = (releaseUrl: string, own: Record<string, unknown> = {}) => {
    const config = AgentConfig.parse({
      sources: {
        [APP]: {
          app_dir: join(dir, "app"),
          ...(own.type === undefined
            ? { type: "https", url: `https://127.0.0.1:${port}/latest.tar.gz` }
            : {}),
          ...own,
        },
      },
    });
    const source = new HubReleaseSource({
      app: APP,
      release: {
        id: "r-9",
        app: APP,
        version: "9.0.0",
        manifest: 'version: "9.0.0"\n',
        source: { type: "https", url: releaseUrl, sha256: "0".repeat(64) },
      },
      source: config.sources[APP] as Source,
      config,
      hubUrl: "http://127.0.0.1:9",
      token: "t",
      context: { stateDir: join(dir, "state"), log: memoryLogger(), retryDelayMs: 0 },
    });
    return source;
  };

  const fetchFrom = async (releaseUrl: string, own: Record<string, unknown> = {}) => {
    const source = sourceFor(releaseUrl, own);
    // The agent checks the URL before it stages anything: both say the same.
    const checked = await source.check().catch((e: unknown) => e);
    const fetched = await source.fetch(join(dir, "staging")).catch((e: unknown) => e);
    expect(String(checked)).toBe(String(fetched));
    return fetched;
  };

  it("names the app's ca_file when the URL is on its source's origin", async () => {
    const url = `https://127.0.0.1:${port}/r-9.tar.gz`;
    const err = await fetchFrom(url);
    expect(err).toBeInstanceOf(BadInputError);
    expect(String((err as Error).message)).toContain(
      `sources.${APP}.ca_file: ${url}: the server's certificate is not signed by a CA this host trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); set ca_file to the certificate (PEM) of the CA that signed it`,
    );
  });

  // On another origin it named no key at all: "download … failed: unable to verify the first
  // certificate". The app's ca_file is what such a URL is checked against; its headers stay home.
  it("names the app's ca_file for a URL on another origin, which is checked against it too", async () => {
    const url = `https://localhost:${port}/r-9.tar.gz`;
    const err = await fetchFrom(url);
    expect(err).toBeInstanceOf(BadInputError);
    expect(String((err as Error).message)).toContain(
      `sources.${APP}.ca_file: ${url}: the server's certificate is not signed by a CA this host trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); set ca_file to the certificate (PEM) of the CA that signed it (this app's hub releases are checked against it on any origin)`,
    );
    // Set as it says, the certificate passes.
    await expect(sourceFor(url, { ca_file: join(dir, "ca.pem") }).check()).resolves.toMatchObject({
      available: true,
    });
  });

  it("for an app whose source has no ca_file (local), says where the release or the CA must go", async () => {
    const url = `https://localhost:${port}/r-9.tar.gz`;
    const err = await fetchFrom(url, { type: "local", path: join(dir, "rel") });
    expect(err).toBeInstanceOf(BadInputError);
    expect(String((err as Error).message)).toContain(
      `source.url: ${url}: the server's certificate is not signed by a CA this host trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); [sources.${APP}] is type local, which has no ca_file: publish the release on a server this host trusts, or give ship agent NODE_EXTRA_CA_CERTS=/path/to/ca.pem`,
    );
  });
});

describe.skipIf(!hasProgram("sshd"))("hub release source: a release on SFTP (real sshd)", () => {
  let dir: string;
  let sshd: SshdServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-sftp-"));
    sshd = await startSshd(join(dir, "sshd"), { logSftpRequests: true });
    await writeRelease(join(dir, "tree"), { version: "7.0.0" });
    await createTar({ gzip: true, file: join(dir, "r.tar.gz"), cwd: join(dir, "tree"), portable: true }, [
      ".",
    ]);
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a check, then the fetch, is one login, one stat and one read of the release", async () => {
    const body = await readFile(join(dir, "r.tar.gz"));
    const source = new HubReleaseSource({
      app: APP,
      release: {
        id: "r-7",
        app: APP,
        version: "7.0.0",
        manifest: await readFile(join(dir, "tree", "update-manifest.yaml"), "utf8"),
        source: {
          type: "sftp",
          remote_path: join(dir, "r.tar.gz"),
          sha256: createHash("sha256").update(body).digest("hex"),
        },
      },
      source: { ...sftpSourceOf(sshd, join(dir, "elsewhere.tar.gz")), app_dir: join(dir, "app") },
      config: AgentConfig.parse({}),
      hubUrl: "http://127.0.0.1:9",
      token: "t",
      context: { stateDir: join(dir, "state"), log: memoryLogger(), retryDelayMs: 0 },
    });
    await source.check();
    const fetched = await source.fetch(join(dir, "staging"));
    await source.close();
    expect(await readFile(join(fetched.dir, "app.txt"), "utf8")).toBe("7.0.0\n");
    expect(sshd.log().match(/Accepted publickey/g)).toHaveLength(1);
    // sftp-server logs each request as it serves it, and its session's end as it exits.
    await expect.poll(async () => readFile(sshd.sftpLogFile, "utf8")).toContain("session closed");
    const requests = [
      ...(await readFile(sshd.sftpLogFile, "utf8")).matchAll(/\b(l?stat|open) (?:name )?"([^"]*)"/g),
    ];
    expect(requests.map((m) => `${m[1]} ${m[2]}`)).toEqual([
      `stat ${join(dir, "r.tar.gz")}`,
      `open ${join(dir, "r.tar.gz")}`,
    ]);
  });
});
