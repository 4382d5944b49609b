import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadAgentIdentity } from "../../../agent/daemon/agent-identity.js";
import { HubConnection } from "../../../agent/daemon/hub-connection.js";
import { Hub } from "../../../shared/config/schema.js";
import { BadInputError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";

/** An unsigned JWT-shaped token: the agent only reads `sub`, the hub verifies. */
const jwt = (sub: string) =>
  ["e30", Buffer.from(JSON.stringify({ sub, role: "agent" })).toString("base64url"), "sig"].join(".");

describe("loadAgentIdentity", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-identity-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const hub = (extra: Record<string, unknown> = {}) =>
    Hub.parse({ url: "https://hub.example:8443", token_file: join(dir, "token"), ...extra });

  it("reads the token and uses agent_id when the token was issued for it", async () => {
    await writeFile(join(dir, "token"), `${jwt("web-1")}\n`, { mode: 0o600 });
    const lines: { level: string; msg: string }[] = [];
    const id = await loadAgentIdentity(hub({ agent_id: "web-1" }), memoryLogger(lines));
    expect(id).toEqual({ agentId: "web-1", token: jwt("web-1") });
    expect(lines.filter((l) => l.level === "warn")).toEqual([]);
  });

  it("refuses a token issued for another agent, naming both", async () => {
    await writeFile(join(dir, "token"), jwt("web-2"), { mode: 0o600 });
    const error = await loadAgentIdentity(hub({ agent_id: "web-1" }), memoryLogger()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BadInputError);
    expect(String(error)).toMatch(/web-2.*web-1/);
  });

  it("warns when others can read the token file, and refuses a missing or empty one", async () => {
    await writeFile(join(dir, "token"), jwt("web-1"));
    await chmod(join(dir, "token"), 0o644);
    const lines: { level: string; msg: string }[] = [];
    await loadAgentIdentity(hub({ agent_id: "web-1" }), memoryLogger(lines));
    expect(lines.some((l) => l.level === "warn" && /readable by other users/.test(l.msg))).toBe(true);

    await writeFile(join(dir, "token"), "\n");
    await expect(loadAgentIdentity(hub(), memoryLogger())).rejects.toThrow(/empty/);
    await rm(join(dir, "token"));
    await expect(loadAgentIdentity(hub(), memoryLogger())).rejects.toBeInstanceOf(BadInputError);
  });
});

describe("HubConnection.channelUrl", () => {
  it("derives ws(s)://host:port/api/v1/agent from the hub URL, keeping a path prefix", () => {
    expect(HubConnection.channelUrl("http://127.0.0.1:8080")).toBe("ws://127.0.0.1:8080/api/v1/agent");
    expect(HubConnection.channelUrl("https://hub.example/ship/")).toBe("wss://hub.example/ship/api/v1/agent");
  });
});
