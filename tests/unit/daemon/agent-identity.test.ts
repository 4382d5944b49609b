import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadAgentIdentity } from "../../../agent/daemon/agent-identity.js";
import { HubConnection } from "../../../agent/daemon/hub-connection.js";
import { hostId } from "../../../agent/host-id.js";
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

  it.each([
    // `>>` for `>`: the new token below the old one. Before: "internal error: Invalid character in
    // header content", exit 1, the unit restarting it for ever.
    ["two tokens", `${jwt("web-1")}\n${jwt("web-1")}\n`, "holds 2 lines: write the one token alone"],
    // Before: 401 "no bearer token" at every connect, the unit "active".
    [
      "a pasted Authorization value",
      `Bearer ${jwt("web-1")}\n`,
      'starts with "Bearer ": write the token alone',
    ],
  ])("refuses %s in the token file, naming the file and key", async (_what, text, expected) => {
    await writeFile(join(dir, "token"), text, { mode: 0o600 });
    const error = await loadAgentIdentity(hub({ agent_id: "web-1" }), memoryLogger(), "ship.toml").catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toContain(`ship.toml hub.token_file: ${join(dir, "token")} ${expected}`);
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

describe("the host id an agent without [hub] agent_id is known by", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-host-id-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const hub = () => Hub.parse({ url: "https://hub.example:8443", token_file: join(dir, "token") });

  it("is /etc/machine-id trimmed; the hostname when that file is missing, empty or unreadable", async () => {
    const machineId = join(dir, "machine-id");
    await writeFile(machineId, "0123456789abcdef0123456789abcdef\n");
    expect(hostId(machineId)).toBe("0123456789abcdef0123456789abcdef");
    await writeFile(machineId, " \n");
    expect(hostId(machineId)).toBe(hostname());
    expect(hostId(join(dir, "missing"))).toBe(hostname());
    // A directory where the file should be reads as no machine id, not as a crash.
    expect(hostId(dir)).toBe(hostname());
  });

  it("is the agent id when it fits the hub's rule; one that does not is exit 2 naming [hub] agent_id", async () => {
    const machineId = join(dir, "machine-id");
    await writeFile(machineId, "0123456789abcdef0123456789abcdef\n");
    await writeFile(join(dir, "token"), jwt("0123456789abcdef0123456789abcdef"), { mode: 0o600 });
    expect((await loadAgentIdentity(hub(), memoryLogger(), "ship.toml", machineId)).agentId).toBe(
      "0123456789abcdef0123456789abcdef",
    );
    for (const bad of ["web 1", "web:1", "-web", "a,b", "x".repeat(201)]) {
      await writeFile(machineId, `${bad}\n`);
      const error = await loadAgentIdentity(hub(), memoryLogger(), "/etc/ship/ship.toml", machineId).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BadInputError);
      expect((error as BadInputError).exitCode).toBe(2);
      expect(String((error as Error).message)).toMatch(
        /^\/etc\/ship\/ship\.toml hub\.agent_id: this host's id ".*" \(from \/etc\/machine-id or the hostname\) .*: set \[hub\] agent_id$/,
      );
    }
    // [hub] agent_id set: the host id is not used, so a bad one does not matter.
    await writeFile(join(dir, "token"), jwt("web-1"), { mode: 0o600 });
    const named = Hub.parse({
      url: "https://hub.example:8443",
      token_file: join(dir, "token"),
      agent_id: "web-1",
    });
    expect((await loadAgentIdentity(named, memoryLogger(), "ship.toml", machineId)).agentId).toBe("web-1");
  });
});

describe("HubConnection.channelUrl", () => {
  it("derives ws(s)://host:port/api/v1/agent from the hub URL, keeping a path prefix", () => {
    expect(HubConnection.channelUrl("http://127.0.0.1:8080")).toBe("ws://127.0.0.1:8080/api/v1/agent");
    expect(HubConnection.channelUrl("https://hub.example/ship/")).toBe("wss://hub.example/ship/api/v1/agent");
  });
});
