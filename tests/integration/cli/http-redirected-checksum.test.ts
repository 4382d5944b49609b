/**
 * An http source whose stable url (`…/latest.tar.gz`) redirects to the versioned archive, with a
 * checksum file that lists releases by their versioned names (a SHA256SUMS, or `latest.tar.gz.sha256`
 * redirecting to the release's own). ship matched only the url's own name: exit 2 "no sha256 for
 * latest.tar.gz in the checksum file; it lists …, myapp-1.1.0.tar.gz", and the only way out was a
 * `filename` edited for every release. The name the redirect leads to is matched too: a right line
 * installs, a wrong one is a checksum mismatch with the app untouched. Real server, real `ship`.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpApp, httpApp } from "../../support/http-app.js";
import { type FileRoute, redirectingFileRoutes } from "../../support/servers/file-routes.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

const routes = new Map<string, FileRoute>();
/** Stable names and where they redirect (302) now. */
const redirects = new Map<string, string>();
let server: TestServer;
let root: string;
beforeAll(async () => {
  server = await startHttpServer(redirectingFileRoutes(routes, redirects));
  root = await mkdtemp(join(tmpdir(), "ship-http-redirected-sum-"));
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const other = "not this one";

/**
 * Publishes `version` as /releases/myapp-VERSION.tar.gz, with latest.tar.gz redirecting to it and
 * its line in the sums saying `listed` (its own sha256 unless given).
 */
function publish(version: string, listedSha256?: string): Buffer {
  const archive = gzipSync(appRelease(version));
  const name = `myapp-${version}.tar.gz`;
  const listed = listedSha256 ?? sha(archive);
  routes.set(`/releases/${name}`, { body: archive, etag: `"${version}"` });
  const sums = `${sha(other)}  myapp-0.9.0.tar.gz\n${listed}  ${name}\n${sha(other)}  myapp-docs.tar.gz\n`;
  routes.set("/releases/SHA256SUMS", { body: sums });
  routes.set(`/releases/${name}.sha256`, { body: sums });
  redirects.set("/latest.tar.gz", `/releases/${name}`);
  redirects.set("/latest.tar.gz.sha256", `/releases/${name}.sha256`);
  return archive;
}

function configure(name: string, checksum: string): Promise<HttpApp> {
  return httpApp(join(root, name), `${server.url}/latest.tar.gz`, `checksum = "${checksum}"\n`);
}

describe("a checksum file that lists the release by the name its url redirects to", () => {
  it("SHA256SUMS, and a .sha256 url that redirects too: each release is verified and installed", async () => {
    for (const [name, checksum] of [
      ["sums", `${server.url}/releases/SHA256SUMS`],
      ["beside", `${server.url}/latest.tar.gz.sha256`],
    ] as const) {
      publish("1.0.0");
      const { config, app } = await configure(name, checksum);
      const first = await runShip(["--config", config]);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.stdout).toContain("installed 1.0.0");
      expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.0.0\n");

      // The next release, found by the ETag check and verified by its versioned name.
      publish("1.1.0");
      const check = await runShip(["--config", config, "--check-only"]);
      expect(check.code, check.stdout + check.stderr).toBe(100);
      const second = await runShip(["--config", config]);
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(second.stdout).toContain("updated 1.0.0 → 1.1.0");
      expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.1.0\n");
    }
  });

  it("a wrong line for the redirected name is a checksum mismatch: exit 2, nothing installed", async () => {
    const archive = publish("2.0.0", "0".repeat(64));
    const { config, app } = await configure("wrong", `${server.url}/releases/SHA256SUMS`);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain(`checksum mismatch: expected sha256 ${"0".repeat(64)}, got ${sha(archive)}`);
    expect(await readdir(app)).toEqual([]);
  });

  it("a file with no line for either name names both, and what it lists", async () => {
    publish("3.0.0", sha(other));
    routes.set("/releases/SHA256SUMS", { body: `${sha(other)}  a.tar.gz\n${sha(other)}  b.tar.gz\n` });
    const { config, app } = await configure("none", `${server.url}/releases/SHA256SUMS`);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain(
      "no sha256 for latest.tar.gz or myapp-3.0.0.tar.gz in the checksum file; it lists a.tar.gz, b.tar.gz",
    );
    expect(await readdir(app)).toEqual([]);
  });
});
