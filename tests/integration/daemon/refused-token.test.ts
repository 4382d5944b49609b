/**
 * An agent whose token the hub refuses (revoked, expired, another role's): it retried about every
 * minute for ever, each line saying only "401: token revoked", nothing of the token file or the
 * command that makes a new token. Now the line names both, the agent waits the longest backoff,
 * and a token written to the file is taken as soon as it is written. A real HTTP server refuses
 * the upgrade as the hub does (status and x-ship-refused); a real token file on disk.
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { HubConnection } from "../../../agent/daemon/hub-connection.js";
import { HubToken } from "../../../agent/daemon/hub-token.js";
import { memoryLogger } from "../../../shared/log.js";
import { testHubConnection } from "../../support/test-hub-connection.js";
import { waitFor } from "../../support/wait-for.js";

type Line = { level: string; msg: string; data?: Record<string, unknown> };

describe("a token the hub refuses", () => {
  let server: Server;
  let url: string;
  let dir: string;
  const upgrades: string[] = [];
  let connection: HubConnection | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-refused-token-"));
    const wss = new WebSocketServer({ noServer: true });
    server = createServer();
    server.on("upgrade", (req, socket, head) => {
      const auth = req.headers.authorization ?? "";
      upgrades.push(auth);
      if (auth === "Bearer good") return wss.handleUpgrade(req, socket, head, () => undefined);
      const [status, reason] =
        auth === "Bearer operator"
          ? [403, "a operator token cannot use the agent channel"]
          : [401, "token revoked"];
      socket.end(`HTTP/1.1 ${status} Refused\r\nx-ship-refused: ${reason}\r\ncontent-length: 0\r\n\r\n`);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await connection?.stop();
    upgrades.length = 0;
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
    await rm(dir, { recursive: true, force: true });
  });

  for (const [refused, status] of [
    ["revoked", 401],
    ["operator", 403],
  ] as const)
    it(`(${status}): one line naming the token file and the command, the longest wait, the new token taken when written`, async () => {
      const tokenFile = join(dir, `token-${status}`);
      await writeFile(tokenFile, refused);
      const lines: Line[] = [];
      const log = memoryLogger(lines);
      const token = new HubToken(refused, tokenFile, join(dir, `renewed-${status}`), "a1", log);
      connection = testHubConnection(url, lines, {
        token: refused,
        refusedToken: token,
        log,
        reconnectBaseMs: 1,
        reconnectMaxMs: 600_000,
      });
      connection.start();
      const retryLine = () => lines.find((l) => l.msg.startsWith("hub connection failed"));
      await waitFor("the refusal's line", async () => retryLine() !== undefined, {
        timeoutMs: 30_000,
        intervalMs: 20,
        where: "the agent's log",
      });
      const line = retryLine();
      // One line per attempt, at ERROR: the token needs a person (the hub's status on it). A line
      // "hub refused the connection" came before it at each attempt.
      expect(line?.level).toBe("error");
      expect(line?.data?.status).toBe(status);
      expect(lines.filter((l) => l.level === "error" || l.level === "warn")).toEqual([line]);
      expect(line?.msg).toContain(`the hub refused the connection (${status}: `);
      expect(line?.msg).toContain(
        `on the hub run ship-hub token create --role agent --agent a1 --out NEW_FILE and put that token in ${tokenFile}`,
      );
      // Not a retry within the minute: half the longest backoff at least (the jitter's floor).
      expect(line?.data?.inMs).toBeGreaterThanOrEqual(300_000);
      expect(upgrades).toHaveLength(1);
      // Renamed into place, as an operator's mv does.
      await writeFile(`${tokenFile}.new`, "good");
      await rename(`${tokenFile}.new`, tokenFile);
      await waitFor("connected with the new token", async () => connection?.connected === true, {
        timeoutMs: 60_000,
        intervalMs: 20,
        where: "the agent's log",
      });
      expect(upgrades).toEqual([`Bearer ${refused}`, "Bearer good"]);
    });
});
