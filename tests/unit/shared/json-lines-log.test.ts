import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJsonLinesLogger } from "../../../shared/json-lines-log.js";
import { createLogger, type Logger } from "../../../shared/log.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-json-log-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The same calls on a logger; every line it writes, parsed, without the time. */
async function linesOf(make: (file: string) => Logger, name: string): Promise<Record<string, unknown>[]> {
  const file = join(root, name, "nested/dir/ship.log");
  const log = make(file);
  log.debug("hidden at info");
  log.info("plain");
  log.info("with data", {
    app: "web",
    count: 3,
    token: "secret-1",
    nested: { token: "secret-2", keep: true, headers: { authorization: "Bearer 3", accept: "x" } },
    headers: { Authorization: "Bearer 4", other: 1 },
    skipped: undefined,
    when: new Date(0),
    list: ["a", { token: "not-a-path" }],
    text: 'line\nbreak "quoted" ünï',
  });
  const child = log.child({ app: "api", passphrase: "pw" });
  child.warn("from the child", { step: "apply", durationMs: 12 });
  child.child({ deployment: 7 }).error("grandchild");
  const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
  return lines.map((l) => {
    const { time, ...rest } = JSON.parse(l) as Record<string, unknown>;
    expect(typeof time).toBe("number");
    return rest;
  });
}

describe("json-lines-log: pino's lines without pino", () => {
  it("writes what pino writes (fields, order, levels, bindings, redaction), file created with its directory", async () => {
    const ours = await linesOf((file) => createJsonLinesLogger({ level: "info", file }), "ours");
    const pinos = await linesOf((file) => createLogger({ level: "info", file }), "pino");
    // pino repeats a key the data shares with a binding ("app" twice); JSON.parse keeps the last.
    expect(ours).toEqual(pinos);
    expect(ours.map((l) => Object.keys(l))).toEqual(pinos.map((l) => Object.keys(l)));
    expect(ours).toHaveLength(4);
    expect(ours[1]).toMatchObject({ level: 30, token: "[Redacted]", msg: "with data" });
    expect(JSON.stringify(ours)).not.toMatch(/secret|Bearer|"pw"/);
  });

  it("never changes the data it is given, and honours silent and debug", async () => {
    const data = { token: "secret", nested: { token: "inner" } };
    const file = join(root, "levels.log");
    createJsonLinesLogger({ level: "silent", file }).error("nothing", data);
    createJsonLinesLogger({ level: "debug", file }).debug("shown", data);
    expect(data).toEqual({ token: "secret", nested: { token: "inner" } });
    const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ level: 20, msg: "shown", token: "[Redacted]" });
  });
});
