import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadSecret } from "../../../hub/auth/secret.js";
import { parseDuration } from "../../../hub/cli/format.js";
import { loadHubConfig } from "../../../hub/config/load.js";
import { BadInputError } from "../../../shared/errors.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-hubcfg-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hub.toml", () => {
  it("defaults to 127.0.0.1:8080 and ./ship-hub-data with no file", async () => {
    expect(await loadHubConfig(undefined)).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      data_dir: "./ship-hub-data",
    });
  });

  it("has cluster timing keys with defaults, and refuses a non-positive one naming it", async () => {
    expect(await loadHubConfig(undefined)).toMatchObject({
      cluster_resync_seconds: 3,
      cluster_heartbeat_seconds: 5,
      cluster_hub_timeout_seconds: 30,
    });
    const file = join(dir, "hub.toml");
    await writeFile(file, "cluster_hub_timeout_seconds = 0\n");
    await expect(loadHubConfig(file)).rejects.toThrow(/hub\.toml:1:1 cluster_hub_timeout_seconds: /);
  });

  it("refuses a hub timeout a heartbeat interval would outrun: each hub would drop its agents between two heartbeats", async () => {
    const file = join(dir, "hub.toml");
    // A slower heartbeat alone (fewer writes): the timeout of 30 s would pass before each next one.
    await writeFile(file, "cluster_heartbeat_seconds = 60\n");
    await expect(loadHubConfig(file)).rejects.toThrow(
      `${file} cluster_hub_timeout_seconds: 30 must be at least twice cluster_heartbeat_seconds (60), so 120 or more: a hub whose last heartbeat is older counts as dead (the other hubs mark its agents offline, and it closes their connections itself)`,
    );
    await writeFile(file, "cluster_heartbeat_seconds = 60\ncluster_hub_timeout_seconds = 120\n");
    expect(await loadHubConfig(file)).toMatchObject({ cluster_hub_timeout_seconds: 120 });
  });

  it("reads keys and refuses unknown ones and bad values, naming file and key", async () => {
    const file = join(dir, "hub.toml");
    await writeFile(file, 'port = 9000\ndata_dir = "/srv/hub"\nping_interval_seconds = 5\n');
    expect(await loadHubConfig(file)).toMatchObject({
      port: 9000,
      data_dir: "/srv/hub",
      ping_interval_seconds: 5,
    });
    await writeFile(file, "prot = 9000\nport = -1\n");
    const error = await loadHubConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    const paths = (error as BadInputError).issues.map((i) => `${i.file}:${i.path}`);
    expect(paths).toEqual(expect.arrayContaining([`${file}:port`, `${file}:prot`]));
    expect((error as BadInputError).message).toContain(
      `${file}:1:1 prot: unknown key "prot" (did you mean "port"?)`,
    );
    expect((error as BadInputError).message).toMatch(/prot/);
  });

  it("bounds every timer and timeout, naming the bound: Node fires a timer past 2^31 ms at once", async () => {
    const file = join(dir, "hub.toml");
    const cases: [string, RegExp][] = [
      ["tick_interval_seconds = 1e308", /tick_interval_seconds: must be ≤ 60 \(a minute\)/],
      ["ping_interval_seconds = 1e308", /ping_interval_seconds: must be ≤ 3600 \(an hour\)/],
      ["cluster_resync_seconds = 86400", /cluster_resync_seconds: must be ≤ 3600 \(an hour\)/],
      ["offline_timeout_seconds = 1e308", /offline_timeout_seconds: must be ≤ 2592000 \(30 days\)/],
      ["progress_timeout_seconds = inf", /progress_timeout_seconds: /],
      ["progress_timeout_seconds = nan", /progress_timeout_seconds: /],
      ["max_artifact_mb = 1e308", /max_artifact_mb: must be ≤ 1048576 \(1 TiB\)/],
      // Counted as 0 bytes: every upload was refused as over the limit.
      ["max_artifact_mb = 1e-9", /max_artifact_mb: must be ≥ 0\.001 \(a kilobyte/],
      ["report_keep_days = -1", /report_keep_days: /],
      ["unused_artifact_sweep_minutes = 1e9", /unused_artifact_sweep_minutes: must be ≤ 1440 \(a day\)/],
      ["unused_artifact_keep_hours = 0", /unused_artifact_keep_hours: /],
      // Under a millisecond Node runs a timer every millisecond: 1e-9 pinged every agent 1000 times a second.
      ["ping_interval_seconds = 1e-9", /ping_interval_seconds: must be ≥ 0\.001 \(a millisecond/],
      ["tick_interval_seconds = 0.0001", /tick_interval_seconds: must be ≥ 0\.001 \(a millisecond/],
      ["offline_timeout_seconds = 1e-300", /offline_timeout_seconds: must be ≥ 0\.001 /],
      ["progress_timeout_seconds = 1e-6", /progress_timeout_seconds: must be ≥ 0\.001 /],
      ["cluster_resync_seconds = 1e-5", /cluster_resync_seconds: must be ≥ 0\.001 /],
      ["cluster_heartbeat_seconds = 1e-4", /cluster_heartbeat_seconds: must be ≥ 0\.001 /],
      [
        "unused_artifact_sweep_minutes = 1e-9",
        /unused_artifact_sweep_minutes: must be ≥ 0\.0000167 \(a millisecond/,
      ],
      // review23: 1 was taken, and an agent whose hello is larger reconnected until the 429 limit.
      ["max_message_kb = 1", /max_message_kb: must be ≥ 64: an agent's hello/],
    ];
    for (const [line, message] of cases) {
      await writeFile(file, `${line}\n`);
      await expect(loadHubConfig(file), line).rejects.toThrow(message);
    }
    await writeFile(file, "tick_interval_seconds = 60\noffline_timeout_seconds = 2592000\n");
    expect(await loadHubConfig(file)).toMatchObject({ tick_interval_seconds: 60 });
    await writeFile(file, "tick_interval_seconds = 0.001\nping_interval_seconds = 0.001\n");
    expect(await loadHubConfig(file)).toMatchObject({
      tick_interval_seconds: 0.001,
      ping_interval_seconds: 0.001,
    });
  });

  it("times the unused-artifact sweep: a day kept, looked for hourly, unless hub.toml says otherwise", async () => {
    expect(await loadHubConfig(undefined)).toMatchObject({
      unused_artifact_keep_hours: 24,
      unused_artifact_sweep_minutes: 60,
    });
    const file = join(dir, "hub.toml");
    await writeFile(file, "unused_artifact_keep_hours = 2\nunused_artifact_sweep_minutes = 5\n");
    expect(await loadHubConfig(file)).toMatchObject({
      unused_artifact_keep_hours: 2,
      unused_artifact_sweep_minutes: 5,
    });
  });

  it("reports TOML syntax errors with line and column", async () => {
    const file = join(dir, "hub.toml");
    await writeFile(file, "port = 80\nhost = \n");
    const error = (await loadHubConfig(file).catch((e: unknown) => e)) as BadInputError;
    expect(error.issues[0]).toMatchObject({ file, line: 2 });
  });
});

describe("signing secret", () => {
  it("generates 48 random bytes once, mode 600, and reuses them", async () => {
    const data = join(dir, "data");
    const first = await loadSecret({ dataDir: data });
    const again = await loadSecret({ dataDir: data });
    expect(first.equals(again)).toBe(true);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect((await stat(join(data, "secret"))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(data, "secret"), "utf8")).toBe(first.toString("utf8"));
  });

  it("prefers the environment, then a configured file, and refuses short secrets", async () => {
    const env = "e".repeat(40);
    expect((await loadSecret({ dataDir: dir, envSecret: env })).toString()).toBe(env);
    const file = join(dir, "s");
    await writeFile(file, `${"f".repeat(32)}\n`);
    expect((await loadSecret({ dataDir: dir, secretFile: file })).toString()).toBe("f".repeat(32));
    await expect(loadSecret({ dataDir: dir, envSecret: "short" })).rejects.toThrow(/at least 32 bytes/);
  });
});

describe("parseDuration", () => {
  it("reads 30d, 12h, 90m, 3600 and refuses nonsense", () => {
    expect(parseDuration("30d", "--ttl")).toBe(30 * 86400);
    expect(parseDuration("12h", "--ttl")).toBe(43200);
    expect(parseDuration("90m", "--ttl")).toBe(5400);
    expect(parseDuration("3600", "--ttl")).toBe(3600);
    expect(() => parseDuration("soon", "--ttl")).toThrow('--ttl "soon" is not a duration');
  });
});
