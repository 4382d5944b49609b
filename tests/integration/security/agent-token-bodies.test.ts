/**
 * An agent token is on every host of the fleet, and no API route takes a request body from it.
 * It was checked for its role only after the body was read and parsed: eight loops of 2 MB JSON
 * bodies posted with one agent token held a real hub's /healthz for 1.5 s, each answered 403 in
 * the end. Now it is 403 before a byte of the body is read. Real hub (in process), real HTTP.
 */
import { request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LINGER_MS } from "../../../hub/api/lingering-close.js";
import { startTestHub, type TestHub } from "../hub/support.js";

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub?.stop();
});

/** Sends only the headers of a POST declaring `length` bytes of JSON; resolves with the status and body of an answer given before the body. */
function headersOnly(path: string, token: string, length: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${hub.hub.url}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "content-length": length,
      },
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
    });
    req.on("error", (error) => {
      if ((error as NodeJS.ErrnoException).code !== "ECONNRESET") reject(error);
    });
    req.flushHeaders();
    setTimeout(() => reject(new Error("no answer before the body was sent")), 3000).unref();
  });
}

describe("a request body sent with an agent token", () => {
  it("is refused (403) before the hub reads a byte of it, naming the route", async () => {
    const agent = await hub.agentToken("web-1");
    for (const path of ["/api/v1/rollouts", "/api/v1/releases", "/api/v1/agents/web-1/check"]) {
      const answer = await headersOnly(path, agent, 2_000_000);
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toEqual({
        error: `role agent may not do this: POST ${path} takes no agent token (agents send no request body to the API)`,
      });
    }
  });

  it("a CI token's body on an operator's route, and an operator's on CI's, is refused before it is read", async () => {
    const wrong: [string, string, string][] = [
      ["/api/v1/rollouts", hub.ci, "role ci may not do this: POST /api/v1/rollouts takes an operator token"],
      [
        "/api/v1/rollouts/preview",
        hub.ci,
        "role ci may not do this: POST /api/v1/rollouts/preview takes an operator token",
      ],
      [
        "/api/v1/rollouts/abcd1234/abort",
        hub.ci,
        "role ci may not do this: POST /api/v1/rollouts/abcd1234/abort takes an operator token",
      ],
      [
        "/api/v1/agents/web-1/check",
        hub.ci,
        "role ci may not do this: POST /api/v1/agents/web-1/check takes an operator token",
      ],
      [
        "/api/v1/releases",
        hub.operator,
        "role operator may not do this: POST /api/v1/releases takes a ci token",
      ],
    ];
    for (const [path, token, error] of wrong) {
      const answer = await headersOnly(path, token, 2_000_000);
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toEqual({ error });
    }
  });

  it("an operator's body is still read and taken", async () => {
    const res = await hub.api("POST", "/api/v1/rollouts/preview", {
      token: hub.operator,
      body: { app: "web", version: "9.9.9", waves: [{ name: "all", percent: 100 }] },
    });
    // Read and validated: the answer is about the body (no such release), not the token.
    expect(res.status).not.toBe(401);
    expect(res.status).not.toBe(403);
  });

  it("a body refused before it is read is not read after the answer either: the hub closes the connection", async () => {
    const { port } = new URL(hub.hub.url);
    const agent = await hub.agentToken("web-2");
    const cases: [string, string, number][] = [
      // No token (authenticateBody), and an upload without one (artifacts take their body raw).
      ["POST /api/v1/releases", "", 401],
      ["PUT /api/v1/artifacts", "", 401],
      ["POST /api/v1/rollouts", `Authorization: Bearer ${agent}\r\n`, 403],
      ["PUT /api/v1/artifacts", `Authorization: Bearer ${hub.operator}\r\n`, 403],
      // A body that is not JSON, from a token that may send one.
      ["POST /api/v1/rollouts", `Authorization: Bearer ${hub.operator}\r\nContent-Type: text/plain\r\n`, 415],
    ];
    for (const [line, headers, status] of cases) {
      const socket = connect(Number(port), "127.0.0.1");
      socket.on("error", () => {});
      // A client busy sending reads its answer a moment later, as a real one does between writes.
      // Closed at once, the hub's connection was reset under the bytes still arriving, and the
      // client's next write failed (EPIPE) before it read why (RFC 9112 §9.6, the TCP reset problem).
      socket.pause();
      setTimeout(() => socket.resume(), 300);
      let answer = "";
      socket.on("data", (chunk: Buffer) => {
        answer += chunk.toString();
      });
      const closed = new Promise<boolean>((resolve) => {
        socket.once("close", () => resolve(true));
        setTimeout(() => resolve(false), LINGER_MS + 2000).unref();
      });
      // A body without end: kept open, the hub read it for as long as the client sent it.
      socket.write(`${line} HTTP/1.1\r\nHost: hub\r\n${headers}Transfer-Encoding: chunked\r\n\r\n`);
      const chunk = `10000\r\n${"a".repeat(0x10000)}\r\n`;
      const pump = setInterval(() => {
        if (!socket.destroyed) socket.write(chunk);
      }, 5);
      const wasClosed = await closed;
      clearInterval(pump);
      socket.destroy();
      expect(answer, line).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(wasClosed, `${line} (${status}): connection still open, the hub reading the body`).toBe(true);
    }
  });
});
