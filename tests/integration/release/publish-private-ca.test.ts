/**
 * `ship release publish` to a hub behind TLS with a certificate from a private CA (the README's
 * set-up with a proxy). There was no CA option: every publish was exit 1 "cannot reach the hub:
 * self-signed certificate", with nothing to pass. Now --ca-file, and a refusal that names it.
 * Real hub behind a real TLS terminator, real openssl certificates.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hasProgram } from "../../support/require-program.js";
import { makeTestCert, type TestCert } from "../../support/servers/tls-cert.js";
import { startTestHub, type TestHub } from "../hub/support.js";
import { runRelease } from "./run-cli.js";

const sha = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

describe.skipIf(!hasProgram("openssl"))(
  "ship release publish to a hub whose certificate is from a private CA",
  () => {
    let dir: string;
    let t: TestHub;
    let front: NetServer;
    let cert: TestCert;
    let other: TestCert;
    let port: number;
    let misnamedFront: NetServer;
    let misnamedPort: number;
    let app: string;
    let common: string[];

    const releases = async (): Promise<{ version: string }[]> => {
      const { body } = await t.api<{ releases?: { version: string }[] } | { version: string }[]>(
        "GET",
        "/api/v1/releases?app=myapp",
        { token: t.ci },
      );
      return Array.isArray(body) ? body : (body.releases ?? []);
    };

    /** A TLS proxy in front of the hub with `tls`'s certificate, as the README sets it up. */
    async function tlsFront(tls: TestCert): Promise<[NetServer, number]> {
      const hubPort = Number(new URL(t.hub.url).port);
      const server = createTlsServer({ cert: tls.cert, key: tls.key }, (client) => {
        const upstream = connect(hubPort, "127.0.0.1");
        client.pipe(upstream).pipe(client);
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return [server, (server.address() as { port: number }).port];
    }

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "ship-publish-ca-"));
      await mkdir(join(dir, "ca"));
      await mkdir(join(dir, "other"));
      await mkdir(join(dir, "named"));
      cert = await makeTestCert(join(dir, "ca"), "IP:127.0.0.1");
      other = await makeTestCert(join(dir, "other"));
      t = await startTestHub({ tickIntervalMs: 1000 });
      [front, port] = await tlsFront(cert);
      [misnamedFront, misnamedPort] = await tlsFront(
        await makeTestCert(join(dir, "named"), "DNS:hub.internal"),
      );
      await writeFile(join(dir, "ci.token"), `${t.ci}\n`);
      app = join(dir, "myapp");
      await mkdir(app);
      await writeFile(join(app, "update-manifest.yaml"), 'version: "2.0.0"\n');
      common = ["publish", "--token-file", join(dir, "ci.token"), "--app", "myapp"];
    });
    afterAll(async () => {
      front.close();
      misnamedFront.close();
      await t.stop();
      await rm(dir, { recursive: true, force: true });
    });

    const byUrl = (version: string) => [
      ...["--version", version, "--url", "https://example.com/myapp.tar.gz", "--sha256", sha("x")],
    ];

    it("without --ca-file: exit 2 naming --ca-file and the hub's origin; nothing published", async () => {
      const r = await runRelease(app, ...common, "--hub", `https://127.0.0.1:${port}`, ...byUrl("2.0.0"));
      expect(r.code).toBe(2);
      expect(r.err).toContain(
        `--ca-file is needed: the hub's certificate at https://127.0.0.1:${port} is not signed by a CA this host trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); pass --ca-file with the certificate (PEM) of the CA that signed it`,
      );
      expect(await releases()).toEqual([]);
    });

    it("--ca-file of another CA: exit 2 saying it is not the hub's CA", async () => {
      const r = await runRelease(
        app,
        ...common,
        ...["--hub", `https://127.0.0.1:${port}`, "--ca-file", other.caFile],
        ...byUrl("2.0.0"),
      );
      expect(r.code).toBe(2);
      expect(r.err).toContain(
        `--ca-file ${other.caFile} is not the certificate of the CA that signed the hub's`,
      );
      expect(await releases()).toEqual([]);
    });

    it("a --hub host name the certificate is not for: exit 2 naming --hub", async () => {
      const r = await runRelease(
        app,
        ...common,
        ...["--hub", `https://127.0.0.1:${misnamedPort}`, "--ca-file", join(dir, "named/ca.pem")],
        ...byUrl("2.0.0"),
      );
      expect(r.code).toBe(2);
      expect(r.err).toContain(`--hub the hub's certificate at https://127.0.0.1:${misnamedPort}`);
      expect(r.err).toContain("is not for this host name (ERR_TLS_CERT_ALTNAME_INVALID)");
    });

    it("a missing --ca-file is named before anything is sent", async () => {
      const r = await runRelease(
        app,
        ...common,
        ...["--hub", `https://127.0.0.1:${port}`, "--ca-file", join(dir, "nope.pem")],
        ...byUrl("2.0.0"),
      );
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--ca-file.*nope\.pem|nope\.pem.*--ca-file/);
    });

    // The server's key where its CA's certificate belongs: Node's TLS read it as no CA at all, and
    // the refusal said "is not the certificate of the CA that signed the hub's".
    it("a --ca-file holding a key, not a certificate: exit 2 saying so before anything is sent", async () => {
      const r = await runRelease(
        app,
        ...common,
        ...["--hub", `https://127.0.0.1:${port}`, "--ca-file", cert.keyFile],
        ...byUrl("2.0.0"),
      );
      expect(r.code).toBe(2);
      expect(r.err).toContain(`--ca-file ${cert.keyFile} holds a private key, not a certificate`);
      expect(await releases()).toEqual([]);
    });

    it("with the CA's certificate: the archive is uploaded and the release registered", async () => {
      const archive = join(dir, "myapp-2.1.0.tar.gz");
      await writeFile(join(app, "update-manifest.yaml"), 'version: "2.1.0"\n');
      execFileSync("tar", ["-czf", archive, "-C", app, "update-manifest.yaml"]);
      const r = await runRelease(
        app,
        ...common,
        ...["--hub", `https://127.0.0.1:${port}`, "--ca-file", cert.caFile],
        ...["--version", "2.1.0", "--artifact", archive],
      );
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toContain("published myapp 2.1.0 (unsigned)");
      expect((await releases()).map((x) => x.version)).toEqual(["2.1.0"]);
    });

    it("ship-hub's commands against it say how to trust the CA, and work once told", async () => {
      requireHubBin();
      const args = ["rollout", "list", "--hub", `https://127.0.0.1:${port}`];
      const refused = await runHubCli(dir, args, { NODE_EXTRA_CA_CERTS: "", SHIP_HUB_TOKEN: t.operator });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(
        "(UNABLE_TO_VERIFY_LEAF_SIGNATURE); a private CA: run ship-hub with NODE_EXTRA_CA_CERTS=/path/to/ca.pem",
      );
      const told = await runHubCli(dir, args, {
        NODE_EXTRA_CA_CERTS: cert.caFile,
        SHIP_HUB_TOKEN: t.operator,
      });
      expect(told.stderr).toBe("");
      expect(told.code).toBe(0);
    });
  },
);
