/**
 * The rollout commands' number flags read `Number()`'s every form: `--failure-threshold 0x10` was
 * 16 failures, `--wave canary=1e1` a 10 % canary, `--from-wave 0b1` wave 1, `--limit 1e1` ten
 * rollouts, and the rollout went ahead on a number nobody wrote. A flag's number is decimal (a
 * fraction where the flag takes one); anything else is exit 2 naming the flag, nothing created or
 * moved. Real hub, the built CLI.
 */
import { tmpdir } from "node:os";
import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest, operatorCli, publishRelease, type TestHub } from "./support.js";

const session = hubPerTest();

const create = (t: TestHub, ...args: string[]) =>
  operatorCli(t, "rollout", "create", "--app", "web", "--version", "2.0.0", ...args);

const ODD = ["0x10", "1e1", "0b1"];
/** What each is, as the refusal says it: "must be a number from 0 to 100" was false of 1e1, which is 10. */
const NOTATION: Record<string, string> = {
  "0x10": "hexadecimal",
  "1e1": "exponent notation",
  "0b1": "binary",
};
const notationRefusal = (flag: string, odd: string) =>
  new RegExp(
    `^ship-hub: ${flag} "[^\\n]*": "${odd}" is ${NOTATION[odd]}: numbers here are written in decimal digits with an optional fraction \\(5, 2\\.5, \\.5\\)\\n$`,
  );

describe("rollout number flags are decimal", () => {
  it("create refuses hex, exponent, binary and octal numbers in every number flag, and creates nothing", async () => {
    requireHubBin();
    const t = await session.start();
    await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
    await session.connect(t, "a2");
    const cases: [string, (n: string) => string[]][] = [
      ["--failure-threshold", (n) => ["--failure-threshold", n]],
      ["--failure-threshold", (n) => ["--failure-threshold", n]],
      ["--failure-threshold", (n) => ["--failure-threshold", `${n}%`]],
      ["--failure-threshold", (n) => ["--failure-threshold", `${n}%`]],
      ["--wave", (n) => ["--wave", `canary=${n}`, "--wave", "rest=100"]],
      ["--wave", (n) => ["--wave", `canary=${n}%`, "--wave", "rest=100"]],
      ["--wait-minutes", (n) => ["--auto-advance", "--wait-minutes", n]],
      ["--min-success-rate", (n) => ["--auto-advance", "--min-success-rate", n]],
    ];
    // One helper reads them all: each flag with one of the forms, in turn (a CLI start each).
    for (const [i, [flag, args]] of cases.entries()) {
      const odd = ODD[i % ODD.length] as string;
      const run = await create(t, ...args(odd));
      expect({ flag, odd, code: run.code, stdout: run.stdout }).toEqual({ flag, odd, code: 2, stdout: "" });
      expect(run.stderr).toMatch(notationRefusal(flag, odd));
    }
    // 1e1 is 10, within the percent's range: said for what it is, not as "a number from 0 to 100".
    const exponent = await create(t, "--failure-threshold", "1e1%");
    expect({ code: exponent.code, stderr: exponent.stderr }).toEqual({
      code: 2,
      stderr:
        'ship-hub: --failure-threshold "1e1%": "1e1" is exponent notation: numbers here are written in decimal digits with an optional fraction (5, 2.5, .5)\n',
    });
    // A threshold's percent finer than 0.01 is refused for what it is, as the API refuses it: a
    // share of the agents in the waves started, not of the waves' buckets.
    const fine = await create(t, "--failure-threshold", "0.001%");
    expect({ code: fine.code, stderr: fine.stderr }).toEqual({
      code: 2,
      stderr:
        'ship-hub: --failure-threshold "0.001%": the percent must be in steps of 0.01 (a percent said to two decimals, as a wave\'s is: 0.01 % is the smallest)\n',
    });
    const listed = await t.api<{ rollouts: unknown[] }>("GET", "/api/v1/rollouts", { token: t.operator });
    expect(listed.body.rollouts).toEqual([]);
    // Decimal numbers, whole or with a fraction, are taken as before.
    const run = await create(
      t,
      "--wave",
      "canary=50",
      "--wave",
      "rest=100",
      "--failure-threshold",
      "2.5%",
      "--auto-advance",
      "--min-success-rate",
      ".5",
      "--wait-minutes",
      " 1.5 ",
      "--json",
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      spec: {
        failureThreshold: { percent: 2.5 },
        waves: [{ percent: 50, minSuccessRate: 0.5, waitMinutes: 1.5 }, { percent: 100 }],
      },
    });
  });

  it("list, show --watch, advance, pause and resume refuse them too, and nothing moves", async () => {
    requireHubBin();
    const t = await session.start();
    await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
    await session.connect(t, "a2");
    const created = await create(t, "--wave", "canary=agents:a1", "--wave", "rest=100", "--json");
    expect(created.code, created.stderr).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const cases: [string, (n: string) => string[]][] = [
      ["--limit", (n) => ["rollout", "list", "--limit", n]],
      ["--interval", (n) => ["rollout", "show", id, "--watch", "--interval", n]],
      ["--from-wave", (n) => ["rollout", "advance", id, "--from-wave", n]],
      ["--from-wave", (n) => ["rollout", "pause", id, "--from-wave", n]],
      ["--failed-seen", (n) => ["rollout", "resume", id, "--failed-seen", n]],
    ];
    for (const [i, [flag, args]] of cases.entries()) {
      const odd = ODD[i % ODD.length] as string;
      const run = await operatorCli(t, ...args(odd));
      expect({ flag, odd, code: run.code, stdout: run.stdout }).toEqual({ flag, odd, code: 2, stdout: "" });
      expect(run.stderr).toMatch(notationRefusal(flag, odd));
    }
    const after = await t.api<{ state: string; currentWave: number }>("GET", `/api/v1/rollouts/${id}`, {
      token: t.operator,
    });
    expect(after.body).toMatchObject({ state: "running", currentWave: 0 });
  });

  it("show refuses --interval without --watch, whatever its value, before asking the hub", async () => {
    // It was ignored unread: `--interval abc` printed the rollout once, as if nothing were wrong.
    requireHubBin();
    const runs = await Promise.all(
      ["abc", "0x10", "5"].map((n) =>
        runHubCli(tmpdir(), ["rollout", "show", "r1", "--interval", n, "--hub", "http://127.0.0.1:1"], {
          SHIP_HUB_TOKEN: jwt.sign({ role: "operator" }, "any-secret-the-hub-never-sees"),
        }),
      ),
    );
    for (const run of runs)
      expect({ code: run.code, stderr: run.stderr }).toEqual({
        code: 2,
        stderr:
          "ship-hub: --interval applies to --watch only: without it `rollout show` prints the rollout once\n",
      });
  });

  it("resume refuses a --failed-seen past the API's range naming the flag and its range, not body.failedSeen, and --from-wave past the most waves", async () => {
    requireHubBin();
    const t = await session.start();
    await publishRelease(t, "2.0.0");
    await session.connect(t, "a1");
    const created = await create(t, "--wave", "all=100", "--json");
    expect(created.code, created.stderr).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };
    expect((await operatorCli(t, "rollout", "pause", id)).code).toBe(0);
    for (const n of ["2000000000", "99999999999999999999"]) {
      const run = await operatorCli(t, "rollout", "resume", id, "--failed-seen", n);
      expect({ n, code: run.code, stdout: run.stdout }).toEqual({ n, code: 2, stdout: "" });
      expect(run.stderr).toBe(
        `ship-hub: --failed-seen "${n}": use the number of failed agents \`rollout show\` printed (a whole number from 0 to 1000000000)\n`,
      );
    }
    // --from-wave past the most waves a rollout has: the number was echoed as 1e+23.
    for (const action of ["advance", "pause", "abort"]) {
      const run = await operatorCli(t, "rollout", action, id, "--from-wave", "99999999999999999999999");
      expect({ action, code: run.code, stdout: run.stdout }).toEqual({ action, code: 2, stdout: "" });
      expect(run.stderr).toBe(
        'ship-hub: --from-wave "99999999999999999999999": use the wave\'s number as `rollout show` prints it (1, 2, … up to 100)\n',
      );
    }
    const after = await t.api<{ state: string }>("GET", `/api/v1/rollouts/${id}`, { token: t.operator });
    expect(after.body.state).toBe("paused");
  });
});
