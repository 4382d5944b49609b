import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSource } from "../../../agent/sources/create.js";
import { GitSource as GitSourceConfig } from "../../../shared/config/schema.js";
import { BadInputError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasProgram } from "../../support/require-program.js";
import { startGitHttpsServer } from "../../support/servers/git-http.js";
import { startHttpsServer, type TestServer } from "../../support/servers/http-server.js";
import { makeTestCert, type TestCert } from "../../support/servers/tls-cert.js";
import { commitFiles, git, makeRepos, type Repos } from "./git-repos.js";

const TOKEN = "Bearer ghp_s3cretTokenValue";

describe.skipIf(!hasProgram("git") || !hasProgram("openssl"))(
  "GitSource over https with a token header",
  () => {
    let tmp: string;
    let server: TestServer;
    let repos: Repos;
    let cert: TestCert;
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), "ship-git-https-"));
      cert = await makeTestCert(tmp);
      repos = await makeRepos(join(tmp, "repos"));
      server = await startGitHttpsServer(dirname(repos.bare), cert, TOKEN);
      await git(repos.clone, "remote", "set-url", "origin", `${server.url}/origin.git`);
      // The operator's way to trust a private CA for git: the clone's own config.
      await git(repos.clone, "config", "http.sslCAInfo", cert.caFile);
    });
    afterAll(async () => {
      await server?.close();
      await rm(tmp, { recursive: true, force: true });
    });

    const source = (headers: Record<string, string>) =>
      createSource(
        "app",
        GitSourceConfig.parse({ type: "git", app_dir: join(tmp, "app"), local_path: repos.clone, headers }),
        { stateDir: join(tmp, "state"), log: memoryLogger(lines), retryDelayMs: 0 },
      );

    it("sends the configured header, fetches and exports; the token never reaches logs", async () => {
      const v2 = await commitFiles(repos.dev, "2.0.0", { "app.txt": "v2 over https\n" });
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      const src = source({ Authorization: TOKEN });
      expect(await src.check()).toMatchObject({ available: true });
      const stage = await mkdtemp(join(tmp, "stage-"));
      expect((await src.fetch(stage)).id).toBe(v2);
      expect(await readFile(join(stage, "app.txt"), "utf8")).toBe("v2 over https\n");
      expect(server.requests.length).toBeGreaterThan(0);
      expect(server.requests.every((r) => r.headers.authorization === TOKEN)).toBe(true);
      expect(JSON.stringify(lines)).not.toContain("s3cret");
    });

    it("fails cleanly without the token, naming the remote but no secret", async () => {
      const err = await source({})
        .check()
        .catch((e: unknown) => e);
      // Bad input naming the key to set (exit 2), not a download failure a retry could fix.
      expect(err).toBeInstanceOf(BadInputError);
      expect((err as Error).message).toMatch(
        /sources\.\S+\.remote: origin \(https:\/\/127\.0\.0\.1:\d+\/origin\.git\) refused the request: it needs credentials; set them in \[sources\.\S+\.headers\]/,
      );
      expect((err as Error).message).not.toContain("s3cret");
    });

    // git said only "The requested URL returned error: 302", exit 1 on every run: a retry never
    // follows it, and nothing said that ship's own rule (no redirect with headers) stopped it.
    it("follows no redirect while headers are configured, so the token never reaches another origin; the refusal says why, exit 2", async () => {
      const redirector = await startHttpsServer((req, res) => {
        res.writeHead(302, { location: `${server.url}${req.url ?? "/"}` }).end();
      }, cert);
      server.requests.length = 0;
      await git(repos.clone, "remote", "set-url", "origin", `${redirector.url}/origin.git`);
      try {
        const err = await source({ Authorization: TOKEN, "X-Api-Key": "s3cret-key" })
          .check()
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BadInputError);
        expect((err as Error).message).toBe(
          `ship.toml sources.app.remote: origin (${redirector.url}/origin.git) redirects (HTTP 302), and git follows no redirect while [sources.app.headers] are set, so the token cannot reach another host: set remote to the URL it redirects to (curl -sI on the remote's URL plus /info/refs?service=git-upload-pack shows it as Location)`,
        );
        expect(redirector.requests.length).toBeGreaterThan(0);
        expect(server.requests).toEqual([]);
      } finally {
        await git(repos.clone, "remote", "set-url", "origin", `${server.url}/origin.git`);
        await redirector.close();
      }
    });

    // A git server with a private CA, and the clone not told of it: exit 1 "git fetch failed:
    // … SSL certificate problem: unable to get local issuer certificate" on every run, with no word
    // of what to set. No retry fixes it: exit 2 naming the remote and how git is given the CA.
    it("a server certificate git cannot verify is bad input saying how to give git the CA", async () => {
      await git(repos.clone, "config", "--unset", "http.sslCAInfo");
      try {
        const err = await source({ Authorization: TOKEN })
          .check()
          .catch((e: unknown) => e);
        expect(err, String(err)).toBeInstanceOf(BadInputError);
        expect((err as Error).message).toMatch(
          /^ship\.toml sources\.app\.remote: origin \(https:\/\/127\.0\.0\.1:\d+\/origin\.git\): git cannot verify the server's certificate \(.*(certificate problem|verification failed).*\); for a private CA run: git -C \S+ config http\.sslCAInfo \/path\/to\/ca\.pem$/,
        );
      } finally {
        await git(repos.clone, "config", "http.sslCAInfo", cert.caFile);
      }
    });
  },
);
