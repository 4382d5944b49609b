/**
 * A `url` whose port is not a web server's (ssh's, here: it greets with its banner) was exit 1 with
 * llhttp's own words, "Response does not match the HTTP/1.1 protocol (Expected HTTP/, RTSP/ or
 * ICE/)", which name neither the cause nor what to check. Real TCP server, real CLI.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("an http source whose url names a port that does not speak HTTP", () => {
  let root: string;
  let server: Server;
  const sockets = new Set<Socket>();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-not-http-"));
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app/app.txt"), "1.0.0\n");
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.write("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  });
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(root, { recursive: true, force: true });
  });

  it("fails saying the answer is not HTTP and asking about the port, the app kept", async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/app.tar.gz`;
    await writeFile(
      join(root, "ship.toml"),
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "http"\nurl = "${url}"\napp_dir = "${root}/app"\nretries = 0\n`,
    );
    const result = await runShip(["--config", join(root, "ship.toml")], { timeoutMs: 30_000 });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toContain(
      `web: download of ${url} failed: the server's answer is not HTTP: is the URL's port a web server's? (`,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  });

  // OpenSSL's own line, two lines long: "80…:error:0A00010B:SSL routines:ssl3_get_record:wrong
  // version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:" and a newline.
  it("an https:// url for a server that speaks http://: says the server does not speak TLS, in one line", async () => {
    const plain = createHttpServer((_req, res) => res.end("v2"));
    await new Promise<void>((ok) => plain.listen(0, "127.0.0.1", ok));
    try {
      const url = `https://127.0.0.1:${(plain.address() as AddressInfo).port}/app.tar.gz`;
      await writeFile(
        join(root, "ship.toml"),
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.web]\ntype = "https"\nurl = "${url}"\napp_dir = "${root}/app"\nretries = 0\n`,
      );
      const result = await runShip(["--config", join(root, "ship.toml")], { timeoutMs: 30_000 });
      expect(result.code, result.stdout + result.stderr).toBe(1);
      expect(result.stdout).toBe(
        `web: download of ${url} failed: TLS handshake failed: the server there does not speak TLS (an https:// URL for an http:// server?) (ERR_SSL_WRONG_VERSION_NUMBER)\n`,
      );
      expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
    } finally {
      plain.closeAllConnections();
      await new Promise<void>((ok) => plain.close(() => ok()));
    }
  });
});
