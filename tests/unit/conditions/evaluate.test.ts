import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostConditionContext } from "../../../agent/conditions/host-context.js";
import {
  type ConditionContext,
  evaluateCondition,
  explainCondition,
  formatObservation,
} from "../../../shared/conditions/evaluate.js";
import { parseCondition } from "../../../shared/conditions/parse.js";

let appDir: string;
/** An empty app_dir: a first install, nothing there yet. */
let emptyDir: string;
let ctx: ConditionContext;
const env = { PATH: process.env.PATH, X: "prod", EMPTY: "", NUM: "8", VER: "1.10.0" };

beforeAll(() => {
  appDir = mkdtempSync(join(tmpdir(), "ship-cond-"));
  writeFileSync(join(appDir, "present.txt"), "x");
  emptyDir = mkdtempSync(join(tmpdir(), "ship-cond-empty-"));
  ctx = hostConditionContext({ appDir, currentVersion: "1.2.0", env, commandTimeoutMs: 5000 });
});
afterAll(() => {
  rmSync(appDir, { recursive: true, force: true });
  rmSync(emptyDir, { recursive: true, force: true });
});

const check = (text: string, c: ConditionContext = ctx) => evaluateCondition(parseCondition(text), c);

describe("evaluateCondition on this host", () => {
  it.each([
    ["file_exists('present.txt')", true],
    ["file_exists('./present.txt')", true],
    ["file_exists('missing.txt')", false],
    ["not file_exists('missing.txt')", true],
    ["env_var('X')", true],
    ["env_var('EMPTY')", false],
    ["env_var('NOPE')", false],
    ["env_var('X') == 'prod'", true],
    ["env_var('X') == 'Prod'", false],
    ["env_var('X') != 'dev'", true],
    ["env_var('NOPE') == ''", false],
    ["env_var('NOPE') != 'x'", true],
    ["env_var('NOPE') < 'x'", false],
    ["env_var('NUM') > 4", true],
    ["env_var('NUM') == 8.0", true],
    ["env_var('NUM') <= 7", false],
    ["env_var('NUM') > '10'", false],
    ["env_var('VER') > '1.9.0'", true],
    ["env_var('VER') == '1.10'", false],
    ["current_version == '1.2'", true],
    ["current_version == 'v1.2.0'", true],
    ["current_version != '1.2.0'", false],
    ["current_version < '2.0.0'", true],
    ["current_version < '1.10.0'", true],
    ["current_version <= '1.2.0'", true],
    ["current_version > '1.2.0-rc.1'", true],
    ["current_version >= '1.2.1'", false],
    ["'1.3' > current_version", true],
    ["current_version > 1", true],
    ["command('true')", true],
    ["command('false')", false],
    ["command(\"sh -c 'exit 3'\")", false],
    ["command('test -f present.txt')", true],
    // command() runs in the clean environment hooks get: the agent's variables are env_var()'s.
    ["command('test -z \"$X\"')", true],
    ["file_exists('present.txt') and env_var('X') == 'prod' and not command('false')", true],
    ["file_exists('missing.txt') or current_version < '1.0' or env_var('NUM') == 8", true],
    ["file_exists('missing.txt') || env_var('EMPTY')", false],
  ])("%s → %s", async (text, expected) => {
    expect(await check(text)).toBe(expected);
  });

  it("finds absolute paths as given", async () => {
    expect(await check(`file_exists(${JSON.stringify(join(appDir, "present.txt"))})`)).toBe(true);
  });

  it("treats an unknown current_version as equal to nothing", async () => {
    const fresh = hostConditionContext({ appDir: emptyDir, currentVersion: undefined, env });
    expect(await check("current_version < '2.0.0'", fresh)).toBe(false);
    expect(await check("current_version >= '2.0.0'", fresh)).toBe(false);
    expect(await check("current_version != '2.0.0'", fresh)).toBe(true);
  });

  it("reads the real process environment by default", async () => {
    const ambient = hostConditionContext({ appDir, currentVersion: undefined });
    expect(await check("env_var('PATH')", ambient)).toBe(true);
  });

  it("short-circuits, so a command that does not decide never runs", async () => {
    expect(await check("file_exists('missing.txt') and command('touch ran-and')")).toBe(false);
    expect(await check("file_exists('present.txt') or command('touch ran-or')")).toBe(true);
    expect(await check("file_exists('present.txt') and command('touch ran-yes')")).toBe(true);
    expect(existsSync(join(appDir, "ran-and"))).toBe(false);
    expect(existsSync(join(appDir, "ran-or"))).toBe(false);
    expect(existsSync(join(appDir, "ran-yes"))).toBe(true);
  });

  it("times a hanging command out and kills its whole process group", async () => {
    const notes: string[] = [];
    const impatient = hostConditionContext({
      appDir,
      currentVersion: undefined,
      env,
      commandTimeoutMs: 200,
      debug: (m) => notes.push(m),
    });
    const started = Date.now();
    expect(await check("command('sleep 10 & echo $! > bg.pid; sleep 10')", impatient)).toBe(false);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(notes.join("\n")).toMatch(/timed out after 200 ms/);
    const bg = Number(readFileSync(join(appDir, "bg.pid"), "utf8"));
    expect(alive(process.pid)).toBe(true);
    await expect.poll(() => alive(bg), { timeout: 10_000 }).toBe(false);
  });
});

/** Running, not merely a zombie waiting for a container's init to reap it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

describe("service_running without systemd", () => {
  it.each(["with pgrep", "from /proc"])("sees a running process by name (%s)", async (how) => {
    // A copy of sleep under a unique name, so only this test's process can match.
    const name = `shipsvc${process.pid % 100000}`;
    const bin = join(appDir, name);
    copyFileSync("/bin/sleep", bin);
    const searchEnv = how === "with pgrep" ? env : { PATH: appDir };
    const services = hostConditionContext({
      appDir,
      currentVersion: undefined,
      env: searchEnv,
      serviceProbe: "process-table",
    });
    expect(await check(`service_running('${name}')`, services)).toBe(false);
    const child = spawn(bin, ["30"], { stdio: "ignore" });
    try {
      await expect.poll(() => check(`service_running('${name}')`, services), { timeout: 10_000 }).toBe(true);
      expect(await check("service_running('no-such-service')", services)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
    await expect.poll(() => check(`service_running('${name}')`, services), { timeout: 10_000 }).toBe(false);
  });

  it("says in a debug note which probe it uses", async () => {
    const notes: string[] = [];
    const detecting = hostConditionContext({
      appDir,
      currentVersion: undefined,
      env,
      debug: (m) => notes.push(m),
    });
    await check("service_running('no-such-service')", detecting);
    await check("service_running('no-such-service')", detecting);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(
      existsSync("/run/systemd/system") ? /asks systemd/ : /systemd is not running here/,
    );
  });
});

describe("explainCondition", () => {
  it("lists every host fact it looked at, in order, with its value", async () => {
    const expr = parseCondition(
      "file_exists('missing.txt') or (env_var('X') == 'prod' and current_version < '2.0.0' and not env_var('NOPE'))",
    );
    const { result, observations } = await explainCondition(expr, ctx);
    expect(result).toBe(true);
    expect(observations.map(formatObservation)).toEqual([
      "file_exists('missing.txt') = false",
      "env_var('X') = 'prod'",
      "current_version = '1.2.0'",
      "env_var('NOPE') = (unset)",
    ]);
  });

  it("shows command results and an unknown current version", async () => {
    const fresh = hostConditionContext({ appDir: emptyDir, currentVersion: undefined, env });
    const { result, observations } = await explainCondition(
      parseCondition("command('false') or current_version < '1'"),
      fresh,
    );
    expect(result).toBe(false);
    expect(observations.map(formatObservation)).toEqual([
      "command('false') = false",
      "current_version = (none installed)",
    ]);
  });

  it.each([
    ["current_version < '2.0.0'", false, true],
    ["not (current_version >= '2.0.0')", false, true],
    ["current_version < '2.0.0' and file_exists('missing.txt')", false, false],
    ["current_version < '2.0.0' and file_exists('present.txt')", false, true],
    ["current_version < '2.0.0' or file_exists('present.txt')", true, false],
    ["file_exists('present.txt')", true, false],
  ])(
    "an app ship did not install (files, no version): %s is %s, undetermined %s",
    async (text, result, undetermined) => {
      // appDir holds present.txt: an app put there by hand, whose version ship does not know.
      const byHand = hostConditionContext({ appDir, currentVersion: undefined, env });
      const explained = await explainCondition(parseCondition(text), byHand);
      expect({ result: explained.result, undetermined: explained.undetermined }).toEqual({
        result,
        undetermined,
      });
      if (text.startsWith("current_version"))
        expect(explained.observations.map(formatObservation)[0]).toBe(
          "current_version = (unknown: an app ship did not install)",
        );
      expect(await evaluateCondition(parseCondition(text), byHand)).toBe(result);
    },
  );
});
