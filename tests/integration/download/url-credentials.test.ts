/**
 * A URL with `user:password@` is Basic auth, as the README says ("credentials in the URL itself are
 * used"): undici sends no userinfo, so an http source's server saw an anonymous request and ship
 * said the url "needs credentials; set them in [sources.NAME.headers]" (exit 2), and a webhook
 * notification to such a URL was refused (HTTP 401) on every update. Like configured headers, the
 * credentials stay on their own origin: a redirect elsewhere carries none. Real HTTP servers, real CLI.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const BASIC = `Basic ${Buffer.from("deploy:p@ss word", "utf8").toString("base64")}`;
const USERINFO = "deploy:p%40ss%20word";

describe("user:password@ in a configured URL", () => {
  let root: string;
  let server: TestServer;
  let elsewhere: TestServer;
  const archive = (version: string, hookUrl: string) =>
    gzipSync(
      buildTar([
        {
          path: "update-manifest.yaml",
          body: `version: "${version}"\nnotifications:\n  on_success:\n    - type: webhook\n      url: "${hookUrl}"\n      message: "updated to {version}"\n`,
        },
        { path: "app.txt", body: `${version}\n` },
      ]),
    );

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-url-credentials-"));
    await mkdir(join(root, "app"));
    elsewhere = await startHttpServer((_req, res) => void res.writeHead(404).end());
    server = await startHttpServer((req, res) => {
      if (req.headers.authorization !== BASIC) return void res.writeHead(401).end();
      const path = req.url ?? "";
      if (path === "/hook") return void req.resume().on("end", () => res.writeHead(200).end("ok"));
      if (path === "/app.tar.gz.sha256")
        return void res.writeHead(302, { location: `${elsewhere.url}/x` }).end();
      const body = archive("1.0.0", `http://${USERINFO}@${new URL(server.url).host}/hook`);
      res.writeHead(200, { "content-length": body.length, etag: '"one"' }).end(body);
    });
  });
  afterEach(async () => {
    await server.close();
    await elsewhere.close();
    await rm(root, { recursive: true, force: true });
  });

  const writeConfig = (extra = "") =>
    writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "http"\nurl = "http://${USERINFO}@${new URL(server.url).host}/app.tar.gz"\napp_dir = "${root}/app"\n${extra}`,
      { mode: 0o600 },
    );

  it("an http source installs with them as Basic auth, and the webhook is delivered with its own", async () => {
    await writeConfig();
    const run = await runShip(["--config", join(root, "ship.toml")]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
    const paths = server.requests.map((r) => [r.method, r.path, r.headers.authorization === BASIC]);
    expect(paths).toContainEqual(["GET", "/app.tar.gz", true]);
    expect(paths).toContainEqual(["POST", "/hook", true]);
    expect(run.stderr).toContain("notification sent");
    // Shown masked, as before.
    expect(run.stdout + run.stderr).not.toContain("p%40ss");
    expect(await readFile(join(root, "var/state.json"), "utf8")).not.toContain("p%40ss");
  });

  it("they are not sent to another origin a redirect leads to", async () => {
    await writeConfig(`checksum = "http://${USERINFO}@${new URL(server.url).host}/app.tar.gz.sha256"\n`);
    const run = await runShip(["--config", join(root, "ship.toml")]);
    // The checksum file is not at the redirect's target: refused, and nothing went there with a password.
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(elsewhere.requests).toHaveLength(1);
    expect(elsewhere.requests[0]?.headers.authorization).toBeUndefined();
  });
});

describe("a server's JSON refusal that echoes what the request carried", () => {
  // Was: the reason a refusal quotes since round 43 (server-reason.ts) was taken as the server wrote
  // it, so a server echoing the request ("bad token Bearer …", the URL asked for) put the source's
  // header token, the URL's password and a presigned hop's signature into stderr, the state file,
  // notifications and the hub's reasons, where a URL's secrets are otherwise always masked.
  let root: string;
  let server: TestServer;
  const secrets = ["K3ySecretValue", "T0kenSecret", "S1gnatureSecret", "p@ss word", BASIC.slice(6)];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-reason-secrets-"));
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app/app.txt"), "1.0.0\n");
    server = await startHttpServer((req, res) => {
      if (req.url?.startsWith("/start"))
        return void res.writeHead(302, { location: "/blob?sig=S1gnatureSecret" }).end();
      const echoed = `denied by policy: authorization ${req.headers.authorization} key ${String(req.headers["x-api-key"])} for ${req.url}`;
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: echoed }));
    });
  });
  afterEach(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it("is quoted with those secrets masked, in the output and the state file", async () => {
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "http"\nurl = "http://${USERINFO}@${new URL(server.url).host}/start?token=T0kenSecret"\napp_dir = "${root}/app"\n` +
        `[sources.web.headers]\nX-Api-Key = "K3ySecretValue"\n`,
      { mode: 0o600 },
    );
    const run = await runShip(["--config", join(root, "ship.toml")]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const state = await readFile(join(root, "var/state.json"), "utf8");
    for (const shown of [run.stdout + run.stderr, state]) {
      expect(shown).toContain("HTTP 400");
      expect(shown).toContain("denied by policy: authorization *** key *** for /blob?sig=***");
      for (const secret of secrets) expect(shown).not.toContain(secret);
    }
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  });
});
