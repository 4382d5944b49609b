/**
 * An sftp source that cannot be reached is not bad input (exit 1: the server may be right next
 * run), but its failure is one line naming the source and what is wrong, in words. Before: the sftp
 * library's own listeners printed "Global error listener: Connection lost before handshake" (stderr)
 * and "Global end listener: end event raised" (stdout) beside the run's line, and a reset read
 * "read ECONNRESET (ECONNRESET)". Real TCP and HTTP servers stand where an SSH server should be.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { generateKey } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";

describe.skipIf(!hasProgram("ssh-keygen"))("an sftp server ship cannot talk to: one line", () => {
  let root: string;
  let http: TestServer;
  let resetting: Server;
  let key: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-connect-"));
    key = (await generateKey(join(root, "client"))).privateKeyFile;
    http = await startHttpServer((_req, res) => res.end("not ssh\n"));
    // Drops every connection as it comes in.
    resetting = createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((listening) => resetting.listen(0, "127.0.0.1", listening));
  });
  afterAll(async () => {
    resetting.close();
    await http.close();
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    [
      "a server that is not SSH (an HTTP server)",
      "http",
      /the server closed the connection before the SSH handshake/,
    ],
    ["a server that resets the connection", "reset", /connection reset by the other end \(ECONNRESET\)$/],
    ["no server on the port", "none", /connection refused \(ECONNREFUSED\)$/],
  ] as const)(
    "%s",
    async (_what, kind, says) => {
      const port =
        kind === "http"
          ? Number(new URL(http.url).port)
          : kind === "reset"
            ? (resetting.address() as AddressInfo).port
            : 1;
      const config = join(root, `${kind}.toml`);
      await writeFile(
        config,
        `[general]\nstate_file = "${root}/${kind}/state.json"\nbackup_dir = "${root}/${kind}/backups"\nmin_interval_hours = 0\n` +
          `[general.logging]\nfile = "${root}/${kind}.log"\n\n` +
          `[sources.myapp]\ntype = "sftp"\nhostname = "127.0.0.1"\nport = ${port}\nusername = "deploy"\n` +
          `key_filename = "${key}"\nremote_path = "/srv/app.tar.gz"\napp_dir = "${root}/app"\n`,
      );
      const run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      const lines = `${run.stdout}${run.stderr}`.split("\n").filter((l) => l.trim() !== "");
      expect(lines, lines.join("\n")).toEqual([
        expect.stringMatching(/^myapp: cannot connect to sftp:\/\/deploy@127\.0\.0\.1:\d+: /),
      ]);
      expect(lines[0]).toMatch(says);
    },
    60_000,
  );
});
