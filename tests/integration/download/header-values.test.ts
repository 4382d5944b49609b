/**
 * A header no request can carry (a token pasted with its newline, a name with a space) was taken by
 * ship.toml and failed at every run as exit 1, "download … failed: invalid Authorization header
 * (UND_ERR_INVALID_ARG)", as if the network were at fault and a retry could help. It is bad input:
 * exit 2 naming the key, nothing fetched; a manifest's webhook header alike. Real server, real CLI.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";

describe("request headers no request can carry", () => {
  let root: string;
  let server: TestServer;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-header-values-"));
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app/app.txt"), "1.0.0\n");
    server = await startHttpServer((_req, res) => void res.writeHead(404).end());
  });
  afterEach(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  const general = () =>
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n`;

  it("in [sources.NAME.headers] are exit 2 naming the header, before any request", async () => {
    await writeFile(
      join(root, "ship.toml"),
      `${general()}[sources.web]\ntype = "http"\nurl = "${server.url}/app.tar.gz"\napp_dir = "${root}/app"\n` +
        `[sources.web.headers]\nAuthorization = "Bearer s3cr3t\\n"\n"X Api Key" = "k"\n`,
      { mode: 0o600 },
    );
    const run = await runShip(["--config", join(root, "ship.toml")]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(
      "sources.web.headers.Authorization: holds a character no header may carry (a line break, a control character, or one past U+00FF)",
    );
    expect(run.stderr).toContain('sources.web.headers."X Api Key": invalid key: is not a valid header name');
    expect(run.stdout + run.stderr).not.toContain("s3cr3t");
    expect(server.requests).toHaveLength(0);
  });

  it("in a manifest's webhook are exit 2 naming the field, the app unchanged", async () => {
    const release = join(root, "release");
    await mkdir(release);
    await writeFile(join(release, "app.txt"), "2.0.0\n");
    await writeFile(
      join(release, "update-manifest.yaml"),
      `version: "2.0.0"\nnotifications:\n  on_success:\n    - type: webhook\n      url: "${server.url}/hook"\n      headers:\n        Authorization: "Bearer t\\r\\nX-Injected: 1"\n`,
    );
    await writeFile(
      join(root, "ship.toml"),
      `${general()}[sources.web]\ntype = "local"\npath = "${release}"\napp_dir = "${root}/app"\n`,
    );
    const run = await runShip(["--config", join(root, "ship.toml")]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toMatch(
      /notifications\.on_success\[0\]\.headers\.Authorization: holds a character no header may carry/,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
    expect(server.requests).toHaveLength(0);
  });
});
