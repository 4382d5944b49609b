/**
 * The unit files in systemd/ are checked by systemd itself (`systemd-analyze verify`). They name
 * /usr/bin/node and /opt/ship, which a test box may lack, so a copy is verified with node's path
 * rewritten to this node; everything else is verified exactly as shipped.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostLockDir } from "../../../agent/lock/run-lock.js";
import { hasProgram } from "../../support/require-program.js";

const SYSTEMD_DIR = resolve("systemd");

function verify(dir: string, files: string[]): { status: number | null; output: string } {
  const result = spawnSync("systemd-analyze", ["verify", "--man=false", ...files], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, SYSTEMD_LOG_COLOR: "0" },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

async function unitText(name: string): Promise<string> {
  return readFile(join(SYSTEMD_DIR, name), "utf8");
}

/** `Key=value` lines of a unit, in order (repeated keys kept). */
function directives(text: string): [string, string][] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#") && !line.startsWith("["))
    .map((line) => {
      const at = line.indexOf("=");
      return [line.slice(0, at), line.slice(at + 1)];
    });
}

describe.skipIf(!hasProgram("systemd-analyze"))("systemd units pass systemd-analyze verify", () => {
  let dir: string;
  let units: string[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-units-"));
    units = (await readdir(SYSTEMD_DIR)).filter((n) => /\.(service|timer)$/.test(n)).sort();
    for (const name of units) {
      const text = (await unitText(name)).replaceAll("/usr/bin/node ", `${process.execPath} `);
      await writeFile(join(dir, name), text);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("ships the timer, the timer's service, the agent daemon and the hub", () => {
    expect(units).toEqual(["ship-agent.service", "ship-hub.service", "ship.service", "ship.timer"]);
  });

  it("every unit verifies with no warning at all", () => {
    const { status, output } = verify(dir, units);
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  it("the check is real: a mistyped directive in a copy is reported", async () => {
    const broken = (await readFile(join(dir, "ship-agent.service"), "utf8")).replace(
      "Type=simple",
      "Type=simpel",
    );
    await writeFile(join(dir, "broken.service"), broken);
    expect(verify(dir, ["broken.service"]).output).toMatch(/service type/i);
  });
});

describe("ship.timer", () => {
  it("fires ship.service daily without a stop dependency on it (stopping a hung run must not stop the timer)", async () => {
    const timer = directives(await unitText("ship.timer"));
    const get = (key: string) => timer.filter(([k]) => k === key).map(([, v]) => v);
    // Requires= (the seed's) stops the timer whenever ship.service is stopped by hand, and
    // BindsTo=/PartOf=/Requisite= tie it the same way; the timer's own Unit= default is enough.
    for (const key of ["Requires", "BindsTo", "PartOf", "Requisite"]) expect(get(key), key).toEqual([]);
    expect(get("Unit")).toEqual([]);
    expect(get("OnCalendar")).toEqual(["*-*-* 06:00:00"]);
    expect(get("Persistent")).toEqual(["true"]);
    expect(get("RandomizedDelaySec")).toEqual(["1800"]);
  });
});

describe("ship-agent.service", () => {
  it("runs `ship agent` with the system config, restarts on failure, and keeps the timer unit's hardening", async () => {
    const agent = directives(await unitText("ship-agent.service"));
    const get = (key: string) => agent.filter(([k]) => k === key).map(([, v]) => v);
    expect(get("Type")).toEqual(["simple"]);
    expect(get("ExecStart")).toEqual([
      "/usr/bin/node /opt/ship/dist/agent/cli/main.cjs agent --config /etc/ship/ship.toml",
    ]);
    expect(get("Restart")).toEqual(["on-failure"]);
    // Bad input (exit 2) is not restarted every 5 s: no restart fixes a config.
    expect(get("RestartPreventExitStatus")).toEqual(["2"]);
    // A stop lets the running update finish: SIGTERM to the daemon only, never to the hook it runs
    // (control-group, the default, failed the hook and rolled the update back); SIGKILL for all
    // only after TimeoutStopSec.
    expect(get("KillSignal")).toEqual(["SIGTERM"]);
    expect(get("KillMode")).toEqual(["mixed"]);
    const timerService = directives(await unitText("ship.service"));
    // The timer's run is stopped the same way: ship finishes the running source, and its hook
    // must not be killed under it (tests/integration/cli/stop-signal.test.ts is the behaviour).
    for (const key of ["KillSignal", "KillMode", "TimeoutStopSec"])
      expect(
        timerService.filter(([k]) => k === key),
        key,
      ).toEqual(agent.filter(([k]) => k === key));
    for (const key of [
      "NoNewPrivileges",
      "ProtectSystem",
      "ReadWritePaths",
      "PrivateTmp",
      "CapabilityBoundingSet",
      "SystemCallFilter",
      "CacheDirectory",
    ]) {
      const want = timerService.filter(([k]) => k === key);
      expect(want.length).toBeGreaterThan(0);
      expect(agent.filter(([k]) => k === key)).toEqual(want);
    }
  });
});

describe("the units that run updates", () => {
  it("give ship a cache directory of its own for its code caches (the package is root's)", async () => {
    // systemd makes /var/cache/ship, owned by User=, writable under ProtectSystem=strict, and sets
    // CACHE_DIRECTORY, where ship keeps the V8 code caches it cannot write beside root's bundle
    // (tests/integration/cli/code-cache-directory.test.ts is the behaviour).
    for (const name of ["ship.service", "ship-agent.service"]) {
      const unit = directives(await unitText(name));
      expect(
        unit.filter(([k]) => k === "CacheDirectory"),
        name,
      ).toEqual([["CacheDirectory", "ship"]]);
      expect(
        unit.filter(([k]) => k === "User"),
        name,
      ).toEqual([["User", "ship"]]);
    }
  });

  it("gives the hub a cache directory of its own for its code cache (the package is root's)", async () => {
    // `ship-hub serve` writes its start's code cache once listening; as User=ship-hub it may not
    // write beside root's bundle, so without CacheDirectory= every hub start compiled the server.
    const unit = directives(await unitText("ship-hub.service"));
    expect(unit.filter(([k]) => k === "CacheDirectory")).toEqual([["CacheDirectory", "ship-hub"]]);
    expect(unit.filter(([k]) => k === "User")).toEqual([["User", "ship-hub"]]);
  });

  it("can write the host's app-lock directory (ProtectSystem=strict makes /run read-only)", async () => {
    const saved = process.env.SHIP_HOST_LOCK_DIR;
    delete process.env.SHIP_HOST_LOCK_DIR;
    let lockDir: string;
    try {
      lockDir = hostLockDir();
    } finally {
      if (saved !== undefined) process.env.SHIP_HOST_LOCK_DIR = saved;
    }
    // Only where the host has /run/lock does ship lock there; elsewhere the check says nothing.
    if (lockDir !== "/run/lock/ship") return;
    for (const name of ["ship.service", "ship-agent.service"]) {
      const unit = directives(await unitText(name));
      const writable = unit
        .filter(([k]) => k === "ReadWritePaths")
        .flatMap(([, v]) => v.split(/\s+/))
        .map((path) => path.replace(/^-/, ""));
      expect(
        writable.some((path) => lockDir === path || lockDir.startsWith(`${path}/`)),
        `${name} ReadWritePaths=${writable.join(" ")}`,
      ).toBe(true);
    }
  });
});

/** The syscalls a `@group` (or one syscall's name) stands for, as systemd expands it. */
function syscallsOf(item: string): string[] {
  if (!item.startsWith("@")) return [item];
  const known = expanded.get(item);
  if (known !== undefined) return known;
  const listed = spawnSync("systemd-analyze", ["syscall-filter", item], { encoding: "utf8" }).stdout;
  const calls = listed
    .split("\n")
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .flatMap(syscallsOf);
  expanded.set(item, calls);
  return calls;
}
const expanded = new Map<string, string[]>();

/**
 * The syscalls a unit lets through, by systemd.exec(5): the first SystemCallFilter= line is an
 * allow list here, each later `~` line takes names out and each later plain line puts them back.
 */
function allowedSyscalls(unit: [string, string][]): Set<string> {
  const allowed = new Set<string>();
  for (const [, value] of unit.filter(([k]) => k === "SystemCallFilter")) {
    const deny = value.startsWith("~");
    for (const item of value.replace(/^~/, "").split(/\s+/))
      for (const call of syscallsOf(item)) deny ? allowed.delete(call) : allowed.add(call);
  }
  return allowed;
}

describe.skipIf(!hasProgram("systemd-analyze"))("the units that run updates: their syscall filter", () => {
  // ship keeps a replaced or merged file's owner and group (chown, as root or as a member of the
  // group), and hooks may chgrp: the filter denied the chown family (@privileged holds @chown), and a
  // denied call with no SystemCallErrorNumber= is SIGSYS, which killed ship mid-update on every run.
  it.each(["ship.service", "ship-agent.service"])(
    "%s lets the chown family through, and a denied call fails with EPERM instead of killing ship",
    async (name) => {
      const unit = directives(await unitText(name));
      const allowed = allowedSyscalls(unit);
      for (const call of ["chown", "fchown", "fchownat", "lchown"])
        expect(allowed.has(call), call).toBe(true);
      // The hardening stays: what @privileged holds besides chown is still refused.
      for (const call of ["setresuid", "chroot", "mount", "ptrace", "reboot"])
        expect(allowed.has(call), call).toBe(false);
      expect(unit.filter(([k]) => k === "SystemCallErrorNumber").map(([, v]) => v)).toEqual(["EPERM"]);
    },
  );
});

describe("ship-hub.service", () => {
  it("a call its syscall filter denies fails with EPERM, which the hub reports, instead of SIGSYS killing it", async () => {
    const hub = directives(await unitText("ship-hub.service"));
    expect(hub.filter(([k]) => k === "SystemCallFilter").map(([, v]) => v)).toEqual(["@system-service"]);
    expect(hub.filter(([k]) => k === "SystemCallErrorNumber").map(([, v]) => v)).toEqual(["EPERM"]);
  });

  it("takes its data dir from hub.toml, as `ship-hub token create --config` does (no --data-dir override)", async () => {
    const hub = directives(await unitText("ship-hub.service"));
    const exec = hub.filter(([k]) => k === "ExecStart").map(([, v]) => v);
    expect(exec).toEqual(["/usr/bin/node /opt/ship/dist/hub/cli/main.js serve --config /etc/ship/hub.toml"]);
    expect(hub.filter(([k]) => k === "RestartPreventExitStatus").map(([, v]) => v)).toEqual(["2"]);
  });
});
