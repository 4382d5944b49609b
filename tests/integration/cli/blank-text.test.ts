/**
 * Text given blank, or holding white space where a name cannot. A `message` given blank. A notification's was sent as it stood: Slack got `{"text":""}`, which
 * it refuses (no_text), so the seed's on_failure alert was lost, and a webhook's text was a space.
 * A conditional's read "manual intervention required before updating to 7.0.0: ; once …" or a
 * bare "WARNING:". Left out, each has ship's own text; given blank, it is bad input naming the key.
 * In ship.toml a key of white space alone was taken: `state_file = " "` kept the state in a file
 * named by a space beside ship.toml. A service's name holding a space (`"my service"`, two services
 * in one item) validated and was then never found running, failing every run as the host's fault.
 * An `Authorization` header left empty (or `"Bearer "`, its token unset) was sent to every download.
 */
import { once } from "node:events";
import { readdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
let server: Server;
let url: string;
const bodies: string[] = [];
beforeAll(async () => {
  app = await localApp();
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      bodies.push(body);
      res.writeHead(200).end("ok");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  server.close();
  await app.cleanup();
});

describe("a blank message", () => {
  it("on a slack notification: the run is exit 2 naming the key, installs nothing and sends nothing", async () => {
    await app.release(
      "v1",
      [
        'version: "1.0.0"',
        "notifications:",
        "  on_success:",
        "    - type: slack",
        `      url: "${url}"`,
        '      message: ""',
        "",
      ].join("\n"),
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(
      /update-manifest\.yaml:6:\d+ notifications\.on_success\[0\]\.message: must not be blank/,
    );
    expect(await readdir(app.appDir)).toEqual([]);
    expect(bodies).toEqual([]);
  }, 60_000);

  it.each([
    [
      "webhook",
      `notifications:\n  on_failure:\n    - type: webhook\n      url: "http://127.0.0.1:9/x"\n      message: "  "\n`,
      "notifications.on_failure[0].message",
    ],
    [
      "log",
      'notifications:\n  on_success:\n    - type: log\n      message: ""\n',
      "notifications.on_success[0].message",
    ],
    [
      "conditional",
      'conditionals:\n  - condition: "current_version < \'2.0.0\'"\n    action: require_manual_intervention\n    message: ""\n',
      "conditionals[0].message",
    ],
  ])(
    "on a %s: --test-manifest is exit 2 naming the key",
    (_kind, yaml, key) => refusedAsBlank(yaml, key),
    60_000,
  );
});

describe("a blank command or name", () => {
  it("a post_update_test whose command is white space: the run is exit 2 naming it, nothing installed", async () => {
    const blank = await localApp();
    try {
      // sh ran "   " as nothing, exit 0: the health check passed whatever the app did.
      await blank.release(
        "v1",
        ['version: "1.0.0"', "post_update_tests:", "  - name: health", '    command: "   "', ""].join("\n"),
      );
      const run = await runShip(["--config", blank.config]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        /update-manifest\.yaml:4:\d+ post_update_tests\[0\]\.command: must not be blank/,
      );
      expect(await readdir(blank.appDir)).toEqual([]);
    } finally {
      await blank.cleanup();
    }
  }, 60_000);

  it.each([
    ['hooks:\n  post_update: ["  "]\n', "hooks.post_update[0]"],
    ['rollback:\n  custom_rollback_command: " "\n', "rollback.custom_rollback_command"],
    [
      'requirements:\n  environment_checks:\n    - name: db\n      command: "\\t"\n',
      "requirements.environment_checks[0].command",
    ],
    ['post_update_tests:\n  - name: "  "\n    command: "true"\n', "post_update_tests[0].name"],
    [
      'conditionals:\n  - condition: "current_version < \'2.0.0\'"\n    action: require_manual_intervention\n    manual_steps: [" "]\n',
      "conditionals[0].manual_steps[0]",
    ],
    // Taken, a blank stage's name read "next stage  opens at …", and a channel of white space
    // was sent to Slack, which finds no channel of that name and drops the message.
    [
      'release_date: "2030-01-01"\nrollout:\n  stages:\n    - { name: " ", percentage: 100 }\n',
      "rollout.stages[0].name",
    ],
    [
      'notifications:\n  on_failure:\n    - { type: slack, url: "http://127.0.0.1:9/x", channel: "\\t" }\n',
      "notifications.on_failure[0].channel",
    ],
  ])("%s: --test-manifest is exit 2 naming it", (yaml, key) => refusedAsBlank(yaml, key), 60_000);
});

describe("ship.toml: a key of white space alone", () => {
  const state = (root: string) => `state_file = "${root}/var/state.json"`;
  it.each([
    ["general.state_file", () => 'state_file = " "', ""],
    ["general.logging.file", state, '[general.logging]\nfile = "\\t"'],
    [
      "sources.myapp.security.privileged_files[0]",
      state,
      '[sources.myapp.security]\nprivileged_files = ["  "]',
    ],
  ])(
    "%s: the run is exit 2 naming the key, nothing installed or written",
    async (key, general, table) => {
      const release = await app.release("v1", 'version: "1.0.0"\n');
      const config = join(app.root, "blank.toml");
      await writeFile(
        config,
        `[general]\n${general(app.root)}\nbackup_dir = "${app.root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${release}"\napp_dir = "${app.appDir}"\n\n${table}\n`,
      );
      const before = (await readdir(app.root)).sort();
      const run = await runShip(["--config", config]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(`blank\\.toml:\\d+:\\d+ ${key.replace(/[.[\]]/g, "\\$&")}: must not be blank`),
      );
      expect(await readdir(app.appDir)).toEqual([]);
      expect((await readdir(app.root)).sort()).toEqual(before);
    },
    60_000,
  );
});

describe("ship.toml: an http header with no value", () => {
  it.each([
    ['Authorization = ""', "must not be blank"],
    ['Authorization = "Bearer "', "is the scheme Bearer with no credentials after it"],
  ])(
    "%s: the run is exit 2 naming it, the server never asked",
    async (line, said) => {
      const config = join(app.root, "header.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${app.root}/var/state.json"\nbackup_dir = "${app.root}/var/backups"\nmin_interval_hours = 0\n\n[sources.web]\ntype = "http"\nurl = "${url.replace("/hook", "/app.tar.gz")}"\napp_dir = "${app.appDir}"\n\n[sources.web.headers]\n${line}\n`,
        { mode: 0o600 },
      );
      const asked = bodies.length;
      const run = await runShip(["--config", config]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(`header\\.toml:\\d+:\\d+ sources\\.web\\.headers\\.Authorization: ${said}`),
      );
      expect(bodies.length).toBe(asked);
      expect(await readdir(app.appDir)).toEqual([]);
    },
    60_000,
  );
});

describe("a service's name holding white space", () => {
  it.each([
    [
      "required_services",
      'requirements:\n  required_services: ["postgresql", "my service"]\n',
      "requirements.required_services[1]",
    ],
    [
      "service_running()",
      "conditionals:\n  - condition: \"service_running('postgresql redis')\"\n    action: skip_update\n",
      "conditionals[0].condition",
    ],
  ])(
    "in %s: --test-manifest and the run are exit 2 naming it, nothing installed",
    async (_where, yaml, key) => {
      const manifest = `version: "1.0.0"\n${yaml}`;
      await app.release("v1", manifest);
      const check = await runShip(["--test-manifest", join(app.root, "v1/update-manifest.yaml")]);
      expect(check.code, check.stdout).toBe(2);
      expect(check.stderr).toContain(`${key}: `);
      expect(check.stderr).toContain("no spaces: list two services as two items");
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/update-manifest\.yaml:\d+:\d+ /);
      expect(run.stderr).toContain(`${key}: `);
      expect(await readdir(app.appDir)).toEqual([]);
    },
    60_000,
  );
});

/** `--test-manifest` of a manifest holding `yaml` is exit 2, naming `key` as blank. */
async function refusedAsBlank(yaml: string, key: string): Promise<void> {
  const manifest = join(app.root, "blank.yaml");
  await writeFile(manifest, `version: "1.0.0"\n${yaml}`);
  const check = await runShip(["--test-manifest", manifest]);
  expect(check.code, check.stdout).toBe(2);
  expect(check.stderr).toContain(`${key}: must not be blank`);
}
