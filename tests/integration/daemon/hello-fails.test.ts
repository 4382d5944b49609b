/**
 * The state file damaged while `ship agent` runs: the hello, which reads it, could not be built.
 * The channel stayed open unannounced until the hub's hello timeout closed it (30 s), then again
 * for ever, each time an ERROR "could not announce to the hub" reading "BadInputError: …", with
 * the reconnect at once (the open had reset the backoff). Now: one ERROR line naming the file and
 * what is wrong, the channel closed at once and retried with backoff, and a line when it is fixed.
 * Real WebSocket server on loopback, real state file, real HubConnection.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { HubConnection } from "../../../agent/daemon/hub-connection.js";
import { readState } from "../../../agent/state/state-file.js";
import { testHello, testHubConnection } from "../../support/test-hub-connection.js";
import { waitFor } from "../../support/wait-for.js";

describe("ship agent whose state file is damaged while it runs", () => {
  let connection: HubConnection | undefined;
  let server: WebSocketServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await connection?.stop();
    await new Promise((done) => (server === undefined ? done(undefined) : server.close(done)));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("says once which file is damaged, closes and retries with backoff, and announces once it is put right", async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hello-fails-"));
    const stateFile = join(dir, "state.json");
    await writeFile(stateFile, `{"sources": `);
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    const opened: number[] = [];
    const hellos: string[] = [];
    server.on("connection", (socket) => {
      opened.push(Date.now());
      socket.on("message", (data) => hellos.push(String(data)));
    });
    await new Promise<void>((ready) => server?.once("listening", ready));
    const { port } = server.address() as { port: number };
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    connection = testHubConnection(`http://127.0.0.1:${port}`, lines, {
      hello: async () => {
        await readState(stateFile);
        return testHello();
      },
      reconnectBaseMs: 20,
      reconnectMaxMs: 5_000,
    });
    connection.start();
    await waitFor("four connections", async () => opened.length >= 4, {
      timeoutMs: 20_000,
      intervalMs: 20,
      where: "the test hub",
    });
    const errors = lines.filter((l) => l.level === "error");
    expect(errors.map((l) => l.msg)).toEqual([
      `cannot announce this agent to the hub: ${stateFile} is damaged, it is not valid JSON (Unexpected end of JSON input): ship's record of each source's installed version and last result; put it right, or move it aside and the next run writes it again from what ship installed (the last results and the record of an update interrupted before its checks are lost)`,
    ]);
    expect(hellos).toEqual([]);
    // Backed off: the delays the reconnect lines name grow (the open had reset them to the first);
    // with full jitter, attempt 2's least (2 × base) is above attempt 0's most (base).
    const delays = lines.filter((l) => l.msg.endsWith("; reconnecting")).map((l) => Number(l.data?.inMs));
    expect(delays.length).toBeGreaterThanOrEqual(3);
    expect(delays[2] as number).toBeGreaterThan(delays[0] as number);

    await writeFile(stateFile, `{"sources": {}}`);
    await waitFor("the hello", async () => hellos.length > 0, {
      timeoutMs: 20_000,
      intervalMs: 20,
      where: "the test hub",
    });
    expect(JSON.parse(hellos[0] as string)).toMatchObject({ type: "hello", agentId: "a1" });
    expect(lines.some((l) => l.msg === "announced to the hub again: what stopped it is fixed")).toBe(true);
  });
});
