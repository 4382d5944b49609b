import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubMessage } from "../../../shared/protocol/messages.js";
import { mintTokens } from "../../support/mint-tokens.js";
import { startForwardProxy } from "../../support/servers/forward-proxy.js";
import { manifestText, TestAgent } from "./support.js";

const run = promisify(execFile);
const MAIN = resolve("dist/hub/cli/main.js");

let dir: string;
let serveProcess: ChildProcess;
let url: string;
/** Tokens the tests share, issued once (the last test runs `token create`, list and revoke itself). */
let operator: string;
let ci: string;
const agentTokens = new Map<string, string>();
const AGENT_IDS = [
  "select-host",
  "newer-host",
  ...["one", "two", "three", "a", "b", "c", "d", "e"].map((name) => `${name}-host`),
  "w1",
  "w2",
];

/** A call to the hub's API with `defaultToken` unless another is given: status and JSON body. */
function apiAs(defaultToken: string) {
  return async <T>(method: string, path: string, body?: unknown, token = defaultToken) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
}

/**
 * Agents that said hello with `app` once and left: registered, offline members a rollout holds
 * (a rollout that holds nobody is refused), whose deployments wait for them while only waves move.
 */
async function registerOffline(operator: string, app: string, ids: readonly string[]): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      const agent = await TestAgent.connect(url, agentTokens.get(id) as string);
      agent.hello(id, [{ app, version: "0.1.0", state: "ok", releaseId: undefined }]);
      await expect
        .poll(async () => (await apiAs(operator)("GET", `/agents/${id}`)).status, { timeout: 20_000 })
        .toBe(200);
      agent.ws.close();
    }),
  );
}

async function cli(...args: string[]) {
  return run(process.execPath, [MAIN, ...args], { cwd: dir, env: { ...process.env, SHIP_HUB_TOKEN: "" } });
}

/** `cli` with `token` in SHIP_HUB_TOKEN, as an operator runs it: `--token` would be in ps, and warned about. */
async function operatorCli(token: string, ...args: string[]) {
  return run(process.execPath, [MAIN, ...args], { cwd: dir, env: { ...process.env, SHIP_HUB_TOKEN: token } });
}

beforeAll(async () => {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} missing: build first (npx tsc -p tsconfig.json; npm test does)`);
  dir = await mkdtemp(join(tmpdir(), "ship-hub-cli-"));
  serveProcess = spawn(process.execPath, [MAIN, "serve", "--port", "0", "--data-dir", "data"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    serveProcess.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    serveProcess.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
  });
  const tokens = await mintTokens(join(dir, "data"), [
    { role: "operator" },
    { role: "ci" },
    ...AGENT_IDS.map((agentId) => ({ role: "agent" as const, agentId })),
  ]);
  [operator, ci] = tokens as [string, string];
  for (const [i, id] of AGENT_IDS.entries()) agentTokens.set(id, tokens[i + 2] as string);
});

afterAll(async () => {
  if (serveProcess.exitCode === null) serveProcess.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("ship-hub CLI", () => {
  it("token create without --config uses the default hub.toml, or refuses instead of making a stray data dir", {
    timeout: 60_000,
  }, async () => {
    const empty = await mkdtemp(join(tmpdir(), "ship-hub-nocfg-"));
    try {
      const inEmpty = (env: Record<string, string>) =>
        run(process.execPath, [MAIN, "token", "create", "--role", "operator"], {
          cwd: empty,
          env: { ...process.env, SHIP_HUB_TOKEN: "", ...env },
        });
      // An empty SHIP_HUB_CONFIG reads as unset: no hub.toml (the test machine has no /etc/ship).
      const refused = await inEmpty({ SHIP_HUB_CONFIG: "" }).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect(refused).toMatchObject({ code: 2, stderr: expect.stringMatching(/pass --config/) });
      expect(existsSync(join(empty, "ship-hub-data"))).toBe(false);
      // A hub.toml that names no data_dir (only comments, only a port) left the shell's
      // ./ship-hub-data: a stray data dir with a new secret, whose token the serving hub refused.
      const unnamed: [string, string][] = [
        ["comments.toml", "# data_dir comes later\n"],
        ["port.toml", "port = 8080\n"],
      ];
      for (const [name, text] of unnamed) {
        const toml = join(empty, name);
        await writeFile(toml, text);
        for (const args of [[], ["--config", toml]]) {
          const env = { SHIP_HUB_CONFIG: args.length === 0 ? toml : "" };
          const said = await run(process.execPath, [MAIN, "token", "create", "--role", "operator", ...args], {
            cwd: empty,
            env: { ...process.env, SHIP_HUB_TOKEN: "", ...env },
          }).catch((e: { code: number; stderr: string }) => e);
          expect(said).toMatchObject({
            code: 2,
            stderr: `ship-hub: ${toml} data_dir: is not set, and no hub database in ./ship-hub-data of the directory ship-hub runs in: set it to the serving hub's data directory (or pass --data-dir); a token signed elsewhere would be refused\n`,
          });
          expect(existsSync(join(empty, "ship-hub-data"))).toBe(false);
        }
      }
      // A hub.toml named by SHIP_HUB_CONFIG that is not there is refused by name, nothing made: it
      // started the hub on built-in defaults in a new ./ship-hub-data. Relative (systemd starts the
      // hub in /), the path it read is said too.
      for (const named of [join(empty, "missing.toml"), "missing.toml"]) {
        const where = named === "missing.toml" ? ` (${join(empty, named)})` : "";
        for (const command of [
          ["serve", "--port", "0"],
          ["token", "create", "--role", "operator"],
        ]) {
          const said = await run(process.execPath, [MAIN, ...command], {
            cwd: empty,
            env: { ...process.env, SHIP_HUB_TOKEN: "", SHIP_HUB_CONFIG: named },
            timeout: 30_000,
          }).catch((e: { code: number; stderr: string }) => e);
          expect(said).toMatchObject({
            code: 2,
            stderr: `ship-hub: ${named} cannot read${where}: no such file or directory (ENOENT); SHIP_HUB_CONFIG names it\n`,
          });
          expect(existsSync(join(empty, "ship-hub-data"))).toBe(false);
        }
      }
      // The default hub.toml names the serving hub's data dir: its token is accepted.
      const hubToml = join(empty, "hub.toml");
      await writeFile(hubToml, `data_dir = ${JSON.stringify(join(dir, "data"))}\n`);
      const token = (await inEmpty({ SHIP_HUB_CONFIG: hubToml })).stdout.trim();
      const res = await fetch(`${url}/api/v1/agents`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      // --config wins over SHIP_HUB_CONFIG, and says so: it won without a word.
      const both = await run(
        process.execPath,
        [MAIN, "token", "create", "--role", "operator", "--config", hubToml],
        {
          cwd: empty,
          env: { ...process.env, SHIP_HUB_TOKEN: "", SHIP_HUB_CONFIG: join(empty, "missing.toml") },
        },
      );
      expect(both.stderr).toBe(
        `ship-hub: warning: --config ${hubToml} is used; SHIP_HUB_CONFIG (${join(empty, "missing.toml")}) is ignored\n`,
      );
      const second = await fetch(`${url}/api/v1/agents`, {
        headers: { authorization: `Bearer ${both.stdout.trim()}` },
      });
      expect(second.status).toBe(200);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  // One long scenario: every CLI call is a node start, which is slow on a loaded machine.
  it("rollout create checks --wave and the numbers before it asks the hub anything (exit 2, naming the flag)", {
    timeout: 90_000,
  }, async () => {
    // Port 9 on loopback refuses connections: had the CLI asked the hub first, this would be exit 1.
    // --token, not SHIP_HUB_TOKEN: its warning (ps shows it) must not come before a refusal's one line.
    const remote = ["--hub", "http://127.0.0.1:9", "--token", "x.y.z", "--app", "web", "--version", "9.9.9"];
    const cases: [string[], RegExp][] = [
      [["--wave", "canary"], /--wave "canary": use NAME=PERCENT/],
      [["--wave", "canary=abc"], /--wave "canary=abc": the percent must be a number above 0 and at most 100/],
      [["--wave", "canary=0"], /--wave "canary=0": the percent must be a number above 0/],
      // Percentages are cumulative: a wave at the previous one's percent would add nobody.
      [
        ["--wave", "c=5", "--wave", "d=5", "--wave", "all=100"],
        /--wave "d=5": 5 must be > wave 1's 5: percentages are cumulative .* would add no agent/,
      ],
      [["--wave", "c=50", "--wave", "d=20"], /--wave "d=20": 20 must be > wave 1's 50: .*never go back/],
      [
        ["--wait-minutes", "43201", "--wave", "a=10"],
        /--wait-minutes "43201": must be a number from 0 to 43200 \(30 days\)/,
      ],
      [["--min-success-rate", "2", "--wave", "a=10"], /--min-success-rate "2": must be a number from 0 to 1/],
      // Said back as a percent ("below its minSuccessRate (0 %)"), so in the percent's steps.
      [
        ["--min-success-rate", "0.99995", "--wave", "a=10", "--auto-advance"],
        /--min-success-rate "0\.99995": must be in steps of 0\.0001 \(a fraction said as a percent in steps of 0\.01: 0\.0001 is 0\.01 %/,
      ],
      [
        ["--failure-threshold", "2000000"],
        /--failure-threshold "2000000": must be a number of failures \(a whole number from 1 to 1000000\)/,
      ],
      [["--wave", "canary=150"], /--wave "canary=150": the percent must be/],
      // A wave takes whole buckets of 10,000: a finer percent held none, or another share than said.
      [
        ["--wave", "canary=0.0000001"],
        /--wave "canary=0\.0000001": the percent must be in steps of 0\.01 \(a share of the 10,000 buckets/,
      ],
      [
        ["--failure-threshold", "0.015%"],
        /--failure-threshold "0\.015%": the percent must be in steps of 0\.01/,
      ],
      [["--failure-threshold", "many"], /--failure-threshold "many": must be a number of failures/],
      // The hub refuses these too: the CLI must not let them through to a 400.
      [
        ["--failure-threshold", "0"],
        /--failure-threshold "0": must be a number of failures \(a whole number from 1 to/,
      ],
      [["--failure-threshold", "-1"], /--failure-threshold "-1": must be a number of failures/],
      [["--failure-threshold", "1.5"], /--failure-threshold "1.5": must be a number of failures/],
      [
        ["--failure-threshold", "150%"],
        /--failure-threshold "150%": the percent must be a number from 0 to 100/,
      ],
      [["--wait-minutes", "soon", "--wave", "a=10"], /--wait-minutes "soon": must be a number/],
    ];
    // --spec FILE is checked as the flags are: the file, its YAML (line:column) and its keys.
    const spec = (name: string) => join(dir, name);
    await writeFile(spec("broken.yaml"), "release: [\n");
    await writeFile(spec("waves.yaml"), "release: abc\nwaves: 5\nfailureThreshold: {count: 1}\n");
    await writeFile(spec("list.yaml"), "- release: abc\n");
    await writeFile(
      spec("back.yaml"),
      "release: abc\nwaves:\n  - name: a\n    percent: 50\n\n  - name: b\n    percent: 20\n",
    );
    await writeFile(spec("tiny.yaml"), "release: abc\nwaves:\n  - name: a\n    percent: 5e-324\n");
    await writeFile(
      spec("threshold.yaml"),
      "release: abc\nwaves:\n  - {name: a, percent: 100}\nfailureThreshold:\n  percent: 0.015\n",
    );
    // JSON with a byte-order mark and tabs, as an editor on another system saves it.
    await writeFile(
      spec("rate.json"),
      '\uFEFF{\n\t"release": "abc",\n\t"waves": [\n\t\t{"name": "a", "percent": 100, "minSuccessRate": 1e-9}\n\t]\n}\n',
    );
    const hubOnly = remote.slice(0, 4);
    const specCases: [string[], RegExp][] = [
      [
        ["--spec", spec("missing.yaml")],
        /--spec \S+missing\.yaml: cannot open \S+: no such file or directory \(ENOENT\)/,
      ],
      [["--spec", spec("broken.yaml")], /--spec \S+broken\.yaml:2:1: Flow sequence in block collection/],
      // A key the hub would refuse is placed as a YAML error is (line:column of its key or item).
      [["--spec", spec("waves.yaml")], /--spec \S+waves\.yaml:2:1: waves: must be a list \(got number 5\)/],
      [["--spec", spec("list.yaml")], /--spec \S+list\.yaml:1:1: the file: must be a mapping \(got a list\)/],
      [
        ["--spec", spec("rate.json")],
        /--spec \S+rate\.json:4:33: waves\[0\]\.minSuccessRate: must be in steps of 0\.0001 /,
      ],
      [
        ["--spec", spec("back.yaml")],
        /--spec \S+back\.yaml:7:5: waves\[1\]\.percent: 20 must be > wave 1's 50: .*never go back/,
      ],
      [
        ["--spec", spec("tiny.yaml")],
        /--spec \S+tiny\.yaml:4:5: waves\[0\]\.percent: must be in steps of 0\.01 \(a share of the 10,000 buckets/,
      ],
      [
        ["--spec", spec("threshold.yaml")],
        /--spec \S+threshold\.yaml:5:3: failureThreshold\.percent: must be in steps of 0\.01/,
      ],
      // A flag the spec replaces was silently not read: --spec FILE --version 1.0.0 rolled out the
      // file's release. So was --app/--version beside --release.
      [
        ["--spec", spec("waves.yaml"), "--app", "web", "--version", "1.0.0"],
        /--spec \S+waves\.yaml holds the whole rollout: --app, --version would not be read/,
      ],
      [
        ["--spec", spec("waves.yaml"), "--failure-threshold", "1", "--auto-advance"],
        /--failure-threshold, --auto-advance would not be read/,
      ],
      [
        ["--release", "abc", "--version", "1.0.0"],
        /--release abc names the release: --version would not be read; give --release ID or --app NAME --version V/,
      ],
    ];
    const all = [
      ...cases.map(([a, m]): [string[], RegExp] => [[...remote, ...a], m]),
      ...specCases.map(([a, m]): [string[], RegExp] => [[...hubOnly, ...a], m]),
    ];
    // Independent refusals, four processes at a time (each waits on node starting).
    for (let i = 0; i < all.length; i += 4) {
      await Promise.all(
        all.slice(i, i + 4).map(async ([args, message]) => {
          const refused = await cli("rollout", "create", ...args).catch(
            (e: { code: number; stderr: string }) => e,
          );
          expect(refused, args.join(" ")).toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
          expect((refused as { stderr: string }).stderr.trim().split("\n")).toHaveLength(1);
        }),
      );
    }
  });

  it("rollout create refuses a --wave the waves before it leave empty, as the hub would (exit 2, naming the flag)", {
    timeout: 60_000,
  }, async () => {
    // Port 9 on loopback refuses connections: had the CLI asked the hub first, this would be exit 1.
    // --token, not SHIP_HUB_TOKEN: its warning (ps shows it) must not come before a refusal's one line.
    const remote = ["--hub", "http://127.0.0.1:9", "--token", "x.y.z", "--app", "web", "--version", "9.9.9"];
    const cases: [string[], RegExp][] = [
      [
        ["--wave", "a=agents:h1,h2", "--wave", "b=agents:h2"],
        /^ship-hub: --wave "b=agents:h2": "h2" is in wave 1 \(a\) already/,
      ],
      [
        ["--wave", "all=100", "--wave", "eu=label:region=eu"],
        /^ship-hub: --wave "eu=label:region=eu": wave 1 \(all\) takes every agent left \(100 %\)/,
      ],
    ];
    await Promise.all(
      cases.map(async ([args, message]) => {
        const refused = await cli("rollout", "create", ...remote, ...args).catch(
          (e: { code: number; stderr: string }) => e,
        );
        expect(refused, args.join(" ")).toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
        expect((refused as { stderr: string }).stderr.trim().split("\n")).toHaveLength(1);
      }),
    );
  });

  it("rollout create whose selector matches no agent: exit 2, one line naming the selector and the labels there are; nothing created, the app stays free", {
    timeout: 120_000,
  }, async () => {
    const api = apiAs(operator);
    const release = await api<{ id: string }>(
      "POST",
      "/releases",
      {
        app: "select-me",
        version: "1.0.0",
        manifest: manifestText("1.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
      ci,
    );
    expect(release.status).toBe(201);
    const remote = ["--hub", url, "--app", "select-me", "--version", "1.0.0"];
    const create = (...args: string[]) =>
      operatorCli(operator, "rollout", "create", ...remote, "--wave", "all=100", ...args).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    // Nobody has the app yet.
    const noAgent = await create();
    expect(noAgent.code).toBe(2);
    expect(noAgent.stderr).toMatch(
      /400: --app select-me --version 1\.0\.0: no registered agent has app select-me/,
    );
    await registerOffline(operator, "select-me", ["select-host"]);
    const typo = await create("--selector", "env=prdo");
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim().split("\n")).toHaveLength(1);
    expect(typo.stderr).toMatch(
      /400: --selector: no agent with app select-me has env=prdo \(1 agent\(s\) have app select-me; their labels: \(none\)\)/,
    );
    // From a --spec file: the hub's refusal names the key at its line:column, as the CLI's own check does.
    const specFile = join(dir, "select-typo.yaml");
    await writeFile(
      specFile,
      `release: ${release.body.id}\nwaves:\n  - {name: all, percent: 100}\nselector:\n  labels: {env: prdo}\n`,
    );
    const fromSpec = await operatorCli(operator, "rollout", "create", "--hub", url, "--spec", specFile).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(fromSpec.code).toBe(2);
    expect(fromSpec.stderr).toMatch(
      /400: --spec \S+select-typo\.yaml:5:3: selector\.labels: no agent with app select-me has env=prdo/,
    );
    const listed = await api<{ rollouts: { release: { app: string } }[] }>("GET", "/rollouts");
    expect(listed.body.rollouts.filter((r) => r.release.app === "select-me")).toEqual([]);
    // The app is not held by an empty rollout: the right rollout starts.
    const ok = await create();
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/state +running/);
  });

  it("rollout create of a release older than the agents run: --version v1.0.0 finds 1.0.0; preview and create warn on stderr, naming hosts and versions", {
    timeout: 120_000,
  }, async () => {
    const api = apiAs(operator);
    const published = await api(
      "POST",
      "/releases",
      {
        app: "down",
        version: "1.0.0",
        manifest: manifestText("1.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
      ci,
    );
    expect(published.status).toBe(201);
    const agent = await TestAgent.connect(url, agentTokens.get("newer-host") as string);
    agent.hello("newer-host", [{ app: "down", version: "2.0.0", state: "ok", releaseId: undefined }]);
    await expect
      .poll(async () => (await api("GET", "/agents/newer-host")).status, { timeout: 20_000 })
      .toBe(200);
    const remote = ["--hub", url, "--app", "down", "--version", "v1.0.0"];
    const warning =
      "warning: --app down --version v1.0.0: down 1.0.0 is older than what 1 of the rollout's 1 agent(s) run (2.0.0: newer-host); each refuses a downgrade unless its ship.toml sets [trust] allow_downgrade = true, and those refusals count as failures";
    const preview = await operatorCli(operator, "rollout", "create", ...remote, "--preview");
    expect(preview.stderr.trim()).toBe(warning);
    expect(preview.stdout).toMatch(/newer-host/);
    const created = await operatorCli(operator, "rollout", "create", ...remote);
    expect(created.stderr.trim()).toBe(warning);
    expect(created.stdout).toMatch(/state +running/);
    agent.ws.terminate();
  });

  it("rollout advance leaves the wave read just before, or the one --from-wave names: 409 (exit 2) once the rollout left it, no wave skipped", {
    timeout: 120_000,
  }, async () => {
    const api = apiAs(operator);
    const release = await api<{ id: string }>(
      "POST",
      "/releases",
      {
        app: "advance-me",
        version: "1.0.0",
        manifest: manifestText("1.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
      ci,
    );
    expect(release.status).toBe(201);
    // Waves of agents that are gone: only the waves move.
    await registerOffline(operator, "advance-me", ["one-host", "two-host", "three-host"]);
    const created = await api<{ id: string }>("POST", "/rollouts", {
      release: release.body.id,
      waves: ["one", "two", "three"].map((name) => ({ name, agents: [`${name}-host`] })),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const remote = ["--hub", url];
    const wave = async () => (await api<{ currentWave: number }>("GET", `/rollouts/${id}`)).body.currentWave;

    // The operator looked at wave 1 and decided; meanwhile someone else advanced it.
    expect((await api("POST", `/rollouts/${id}/advance`, {})).status).toBe(200);
    const refused = await operatorCli(
      operator,
      "rollout",
      "advance",
      id,
      "--from-wave",
      "1",
      ...remote,
    ).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/409: .*already moved from wave 1 \(one\) to wave 2 \(two\)/),
    });
    expect((refused as { stderr: string }).stderr.trim().split("\n")).toHaveLength(1);
    expect(await wave()).toBe(1);
    // A wave it has not reached is named as such, not as "already moved".
    const ahead = await operatorCli(operator, "rollout", "advance", id, "--from-wave", "3", ...remote).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(ahead).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/is in wave 2 \(two\): it has not reached wave 3 \(three\)/),
    });
    // A wave the rollout does not have is bad input, not a wave it "has not reached".
    const none = await operatorCli(operator, "rollout", "advance", id, "--from-wave", "5", ...remote).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(none).toMatchObject({
      code: 2,
      stderr: `ship-hub: --from-wave 5: rollout ${id} has 3 wave(s), wave 1 (one) to wave 3 (three)\n`,
    });
    // The API names its own field, counted from 0.
    expect(await api("POST", `/rollouts/${id}/advance`, { fromWave: 4 })).toMatchObject({
      status: 400,
      body: {
        error: `body.fromWave: rollout ${id} has 3 wave(s), wave 1 (one) to wave 3 (three) (fromWave 4 would be wave 5)`,
      },
    });
    for (const bad of ["0", "x", "1.5"]) {
      const usage = await operatorCli(
        operator,
        "rollout",
        "advance",
        id,
        "--from-wave",
        bad,
        ...remote,
      ).catch((e: { code: number; stderr: string }) => e);
      expect(usage, bad).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(new RegExp(`--from-wave "${bad.replace(".", "\\.")}"`)),
      });
    }
    expect(await wave()).toBe(1);
    // Without the flag it leaves the wave it read, and says which.
    const advanced = await operatorCli(operator, "rollout", "advance", id.slice(0, 8), ...remote);
    expect(advanced.stdout).toMatch(/^advanced from wave 2\/3 two to 3\/3 three$/m);
    expect(await wave()).toBe(2);
    await api("POST", `/rollouts/${id}/abort`, {});
  });

  it("concurrent `rollout advance` without --from-wave: one wins, the others exit 2 naming the wave that started after they did", {
    timeout: 150_000,
  }, async () => {
    const api = apiAs(operator);
    const release = await api<{ id: string }>(
      "POST",
      "/releases",
      {
        app: "race-me",
        version: "1.0.0",
        manifest: manifestText("1.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
      ci,
    );
    await registerOffline(operator, "race-me", ["a-host", "b-host", "c-host", "d-host", "e-host"]);
    const create = async () =>
      (
        await api<{ id: string }>("POST", "/rollouts", {
          release: release.body.id,
          waves: ["a", "b", "c", "d", "e"].map((name) => ({ name, agents: [`${name}-host`] })),
        })
      ).body.id;
    const remote = ["--hub", url];
    const advance = (id: string) =>
      operatorCli(operator, "rollout", "advance", id, ...remote).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code: number; stderr: string }) => e,
      );
    const wave = async (id: string) =>
      (await api<{ currentWave: number }>("GET", `/rollouts/${id}`)).body.currentWave;

    // Four operators type `advance` at the same moment, each deciding on wave 1: one wave moves.
    const id = await create();
    const results = await Promise.all([1, 2, 3, 4].map(() => advance(id)));
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of results.filter((r) => r.code !== 0)) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /409: .*(already moved from wave 1 \(a\) to wave 2 \(b\)|entered wave 2 \(b\) .* after this advance was decided)/,
      );
    }
    expect(await wave(id)).toBe(1);
    await api("POST", `/rollouts/${id}/abort`, {});

    // The narrow case: the wave moves after the command started but before it reads the rollout,
    // so the wave it reads is not the one the operator decided on. A preloaded gate holds the real
    // CLI process once node has started until the API advance is done. Without the hub's check it
    // would leave wave 2 too.
    const next = await create();
    const gate = join(dir, "gate");
    await writeFile(
      `${gate}.cjs`,
      `const fs = require("node:fs");
fs.writeFileSync(${JSON.stringify(`${gate}.ready`)}, "");
const nap = new Int32Array(new SharedArrayBuffer(4));
while (!fs.existsSync(${JSON.stringify(`${gate}.go`)})) Atomics.wait(nap, 0, 0, 10);
`,
    );
    const late = run(
      process.execPath,
      ["--require", `${gate}.cjs`, MAIN, "rollout", "advance", next, ...remote],
      {
        cwd: dir,
        env: { ...process.env, SHIP_HUB_TOKEN: operator },
      },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    await expect.poll(() => existsSync(`${gate}.ready`), { timeout: 30_000 }).toBe(true);
    expect((await api("POST", `/rollouts/${next}/advance`, { fromWave: 0 })).status).toBe(200);
    await writeFile(`${gate}.go`, "");
    expect(await late).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /409: rollout \S+ entered wave 2 \(b\) [\d.]+ s ago, after this advance was decided/,
      ),
    });
    expect(await wave(next)).toBe(1);
    // Run afterwards, it leaves the wave it reads.
    expect((await advance(next)).code).toBe(0);
    expect(await wave(next)).toBe(2);
    await api("POST", `/rollouts/${next}/abort`, {});
  });

  it("rollout show --watch exits 1 for a rollout that completed with a failed agent (below its threshold), 0 when none failed", {
    timeout: 60_000,
  }, async () => {
    const post = async <T>(path: string, body: unknown, token = operator) =>
      (await (
        await fetch(`${url}/api/v1${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        })
      ).json()) as T;
    const agents = await Promise.all(
      ["w1", "w2"].map(async (id) => {
        const agent = await TestAgent.connect(url, agentTokens.get(id) as string);
        agent.hello(id, [{ app: "watched", version: "1.0.0", state: "up_to_date", releaseId: undefined }]);
        return agent;
      }),
    );
    const remote = ["--hub", url];
    try {
      for (const [version, outcomes] of [
        ["2.0.0", ["succeeded", "failed"]],
        ["3.0.0", ["succeeded", "succeeded"]],
      ] as const) {
        const release = await post<{ id: string }>(
          "/releases",
          {
            app: "watched",
            version,
            manifest: manifestText(version),
            source: { type: "git", commit: "abcdef1" },
          },
          ci,
        );
        await expect
          .poll(
            async () =>
              (
                await post<{ waves: { agents: string[] }[] }>("/rollouts/preview", {
                  release: release.id,
                  waves: [{ name: "all", percent: 100 }],
                })
              ).waves[0]?.agents.length,
          )
          .toBe(2);
        const rollout = await post<{ id: string }>("/rollouts", {
          release: release.id,
          waves: [{ name: "all", percent: 100 }],
          failureThreshold: { count: 2 },
        });
        await Promise.all(
          agents.map(async (agent, i) => {
            const deploy = (await agent.next((m) => m.type === "deploy")) as Extract<
              HubMessage,
              { type: "deploy" }
            >;
            const reportId = randomUUID();
            agent.send({
              type: "report",
              v: 1,
              reportId,
              deploymentId: deploy.deploymentId,
              app: "watched",
              releaseId: deploy.release.id,
              outcome: outcomes[i],
              fromVersion: "1.0.0",
              toVersion: version,
              steps: [],
              // A success that warned: its warning is a line of its own, not its ERROR.
              ...(version === "3.0.0" && i === 0
                ? { warnings: ["replaced local.conf; its copy is in the backup"] }
                : {}),
            });
            await agent.next(
              (m): m is Extract<HubMessage, { type: "ack" }> => m.type === "ack" && m.reportId === reportId,
            );
          }),
        );
        const watched = await operatorCli(
          operator,
          "rollout",
          "show",
          rollout.id,
          "--watch",
          "--interval",
          "0.2",
          ...remote,
        ).then(
          (r) => ({ code: 0, stdout: r.stdout }),
          (e: { code: number; stdout: string }) => e,
        );
        if (version === "2.0.0") {
          // Completed (one failure is below the threshold of 2), and says so, but not a success.
          expect(watched.stdout).toMatch(/state\s+completed — 1 agent\(s\) failed/);
          expect(watched.code).toBe(1);
        } else {
          expect(watched.stdout).toMatch(/state\s+completed\n/);
          expect(watched.stdout).toMatch(/\nw1 +succeeded .* -\n/);
          expect(watched.stdout).toContain("\nw1: warning: replaced local.conf; its copy is in the backup\n");
          expect(watched.code).toBe(0);
        }
      }
    } finally {
      for (const agent of agents) agent.ws.close();
    }
  });

  it("rollout and agents commands go through the environment's proxy, as curl and `ship release publish` do; a 407 is exit 2 naming the variable", async () => {
    // The name only the proxy resolves: it said "cannot reach the hub: getaddrinfo ENOTFOUND".
    const proxy = await startForwardProxy({ hosts: { "hub.corp.example:80": Number(new URL(url).port) } });
    const strict = await startForwardProxy({ refuse: 407 });
    const asOperator = (proxyUrl: string) =>
      run(process.execPath, [MAIN, "agents", "--json", "--hub", "http://hub.corp.example"], {
        cwd: dir,
        env: { ...process.env, SHIP_HUB_TOKEN: operator, http_proxy: proxyUrl, no_proxy: "" },
      }).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: "" }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    try {
      const listed = await asOperator(proxy.url);
      expect(listed.code).toBe(0);
      expect(Array.isArray(JSON.parse(listed.stdout))).toBe(true);
      expect(proxy.requests.map((r) => r.target)).toEqual(["http://hub.corp.example/api/v1/agents"]);
      // With --json, as JSON on stderr.
      const refusal = `the environment http_proxy: the proxy http://***@${new URL(strict.url).host}/ (http_proxy) refused the credentials in it (HTTP 407): check the user and password (%-encode @ : / in them)`;
      expect(await asOperator(strict.url.replace("http://", "http://ops:wrong@"))).toMatchObject({
        code: 2,
        stderr: `${JSON.stringify({ error: refusal, exitCode: 2, message: `ship-hub: ${refusal}` })}\n`,
      });
    } finally {
      await Promise.all([proxy.close(), strict.close()]);
    }
  });

  it("serve + token create share the data dir; rollout and agents commands drive the API; SIGTERM shuts down cleanly", {
    timeout: 180_000,
  }, async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await stat(join(dir, "data", "secret"))).mode & 0o777).toBe(0o600);
    const operator = (
      await cli("token", "create", "--data-dir", "data", "--role", "operator", "--name", "ops")
    ).stdout.trim();
    expect(operator).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const agentToken = (
      await cli("token", "create", "--data-dir", "data", "--role", "agent", "--agent", "web-1")
    ).stdout.trim();

    const ci = (await cli("token", "create", "--data-dir", "data", "--role", "ci")).stdout.trim();
    const published = await fetch(`${url}/api/v1/releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${ci}`, "content-type": "application/json" },
      body: JSON.stringify({
        app: "web",
        version: "2.0.0",
        manifest: manifestText("2.0.0"),
        source: { type: "git", commit: "abcdef1" },
      }),
    });
    expect(published.status).toBe(201);

    const agent = await TestAgent.connect(url, agentToken);
    agent.hello("web-1", [{ app: "web", version: "1.0.0", state: "ok", releaseId: undefined }], {
      env: "prod",
    });
    const remote = ["--hub", url];
    await expect
      .poll(
        async () =>
          (await fetch(`${url}/api/v1/agents/web-1`, { headers: { authorization: `Bearer ${operator}` } }))
            .status,
      )
      .toBe(200);
    expect((await operatorCli(operator, "agents", ...remote)).stdout).toMatch(
      /web-1\s+web-1\s+yes\s+\S+\s+env=prod\s+web@1\.0\.0/,
    );

    const preview = await operatorCli(
      operator,
      "rollout",
      "create",
      ...remote,
      "--app",
      "web",
      "--version",
      "2.0.0",
      "--wave",
      "canary=agents:web-1",
      "--wave",
      "rest=100",
      "--preview",
    );
    expect(preview.stdout).toMatch(/canary\s+1\s+web-1/);
    const created = JSON.parse(
      (
        await operatorCli(
          operator,
          "rollout",
          "create",
          ...remote,
          "--app",
          "web",
          "--version",
          "2.0.0",
          "--wave",
          "canary=agents:web-1",
          "--wave",
          "rest=100",
          "--json",
        )
      ).stdout,
    ) as { id: string; state: string };
    expect(created.state).toBe("running");
    expect((await agent.next((m) => m.type === "deploy")).type).toBe("deploy");
    expect((await operatorCli(operator, "rollout", "list", ...remote)).stdout).toMatch(
      new RegExp(`${created.id}\\s+web\\s+2\\.0\\.0\\s+running`),
    );
    // The dashboard shows 8 characters of an id: the CLI takes them.
    const short = created.id.slice(0, 8);
    const paused = await operatorCli(operator, "rollout", "pause", short, ...remote);
    expect(paused.stdout).toMatch(/state\s+paused/);
    expect(paused.stdout).toContain(created.id);
    // --watch redraws until the rollout ends, then exits 1 (it did not complete).
    const watcher = spawn(
      process.execPath,
      [MAIN, "rollout", "show", short, "--watch", "--interval", "0.2", ...remote],
      { cwd: dir, env: { ...process.env, SHIP_HUB_TOKEN: operator }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let watchedOut = "";
    watcher.stdout?.on("data", (chunk: Buffer) => {
      watchedOut += chunk.toString();
    });
    const watching = new Promise<{ code: number | null; stdout: string }>((resolve) =>
      watcher.once("exit", (code) => resolve({ code, stdout: watchedOut })),
    );
    // Aborted once the watch has drawn the paused rollout (a fixed wait lost that race under load).
    await expect.poll(() => /state\s+paused/.test(watchedOut), { timeout: 30_000 }).toBe(true);
    // web-1 announced no hub release it ran before: the rollback cannot reach it, so exit 1 naming it.
    const aborted = (await operatorCli(operator, "rollout", "abort", short, "--rollback", ...remote).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    )) as { code?: number; stdout: string; stderr: string };
    expect(aborted.stdout).toMatch(/state\s+aborted/);
    expect(aborted).toMatchObject({ code: 1, stderr: expect.stringMatching(/^not rolled back: web-1 /) });
    const watched = await watching;
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(/state\s+paused[\s\S]*state\s+aborted/);
    expect((await cli("--version")).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const agentVersion = await run(process.execPath, [resolve("dist/agent/cli/main.cjs"), "--version"]);
    expect(agentVersion.stdout.trim()).toBe((await cli("--version")).stdout.trim());
    const refused = await operatorCli(operator, "rollout", "advance", created.id, ...remote).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringMatching(/409/) });

    const { stdout: list } = await cli("token", "list", "--data-dir", "data", "--json");
    const jti = (JSON.parse(list) as { jti: string; name: string }[]).find((t) => t.name === "ops")!.jti;
    await cli("token", "revoke", jti, "--data-dir", "data");
    const denied = await operatorCli(operator, "agents", ...remote).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(denied).toMatchObject({ code: 2, stderr: expect.stringMatching(/401.*revoked/) });

    const closed = agent.closed();
    const exited = new Promise<number | null>((resolve) =>
      serveProcess.once("exit", (code) => resolve(code)),
    );
    serveProcess.kill("SIGTERM");
    expect(await exited).toBe(0);
    await closed;
    // Shutdown checkpoints the write-ahead log into the database file.
    const wal = await stat(join(dir, "data", "hub.db-wal")).catch(() => undefined);
    expect(wal === undefined || wal.size === 0).toBe(true);
  });
});
