/**
 * on_failure notifications say what became of the app. `{error}` was the failure's reason alone, so
 * the seed's "MyApp update failed: {error}" read the same in Slack whether ship had restored the
 * previous version or left the failing one running (auto_rollback_on without the trigger). It now
 * ends as the run's own message does. Real CLI, real HTTP receiver.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp, logAt } from "../cli/local-app.js";

describe("the text of an on_failure webhook", () => {
  let app: LocalApp;
  let server: Server;
  let url: string;
  const texts: string[] = [];
  const bodies: string[] = [];

  beforeEach(async () => {
    texts.length = 0;
    bodies.length = 0;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push(Buffer.concat(chunks).toString("utf8"));
        texts.push(String((JSON.parse(bodies.at(-1) ?? "") as { text: unknown }).text));
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    app = await localApp();
    await app.release("r1", 'version: "1.0.0"\n');
    expect((await runShip(["--config", app.config])).code).toBe(0);
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
    await app.cleanup();
  });

  const release = (extra: string) =>
    app.release(
      "r2",
      `version: "2.0.0"\n${extra}notifications:\n  on_failure:\n    - type: webhook\n      url: "${url}"\n      message: "MyApp update failed: {error}"\n`,
      { "app.txt": "v2\n" },
    );

  it("says the failing version was left in place when auto_rollback_on leaves it", async () => {
    await release(
      'rollback:\n  auto_rollback_on: ["service_start_fail"]\npost_update_tests:\n  - name: "health"\n    command: "exit 3"\n',
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(texts).toEqual([
      'MyApp update failed: post_update_test "health" exited with 3 (after 1 attempt); NOT rolled back because auto_rollback_on does not include health_check_fail: version 2.0.0 is LEFT IN PLACE',
    ]);
  });

  it("says the previous version was restored, or that the app's files were not changed", async () => {
    await release('post_update_tests:\n  - name: "health"\n    command: "exit 3"\n');
    expect((await runShip(["--config", app.config])).code).toBe(1);
    await release('requirements:\n  required_commands: ["no-such-command-here"]\n');
    expect((await runShip(["--config", app.config])).code).toBe(1);
    expect(texts).toEqual([
      'MyApp update failed: post_update_test "health" exited with 3 (after 1 attempt); restored the previous version',
      "MyApp update failed: required_commands.no-such-command-here: no-such-command-here not found on PATH; the app's files were not changed",
    ]);
  });

  it("still says what became of the app when a rollback command failed too", async () => {
    await release(
      'hooks:\n  pre_update: ["true"]\n  rollback: ["echo cannot start >&2; exit 4"]\npost_update_tests:\n  - name: "health"\n    command: "exit 3"\n',
    );
    expect((await runShip(["--config", app.config])).code).toBe(1);
    await release('hooks:\n  pre_update: ["exit 5"]\n  rollback: ["echo cannot start >&2; exit 4"]\n');
    expect((await runShip(["--config", app.config])).code).toBe(1);
    expect(texts).toEqual([
      'MyApp update failed: post_update_test "health" exited with 3 (after 1 attempt); restored the previous version; rollback commands failed: rollback hook[0] exited with 4: cannot start',
      "MyApp update failed: pre_update hook[0] exited with 5; the app's files were not changed; rollback commands failed: rollback hook[0] exited with 4: cannot start",
    ]);
  });

  // A token in a check's arguments was quoted whole: in the run's output, the state file, every
  // on_failure webhook and Slack message, and the hub's report.
  it("names an environment check and a command() condition by their program, never their arguments", async () => {
    const secret = "s3cr3t-token-77";
    await release(
      [
        "conditionals:",
        `  - {condition: "command('test ${secret} = ${secret}')", action: warn}`,
        "requirements:",
        "  environment_checks:",
        `    - {name: api, command: "API_TOKEN=${secret} test ${secret} = other"}`,
        "",
      ].join("\n"),
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain("environment_checks.api: exit code 1 (test …)");
    expect(run.stdout + run.stderr).toContain("condition holds: command('test …')");
    expect(texts).toEqual([
      "MyApp update failed: environment_checks.api: exit code 1 (test …); the app's files were not changed\nWARNING: condition holds: command('test …')",
    ]);
    const said = [run.stdout, run.stderr, JSON.stringify(await app.state()), ...bodies].join("\n");
    expect(said).not.toContain(secret);
  });

  // ship.log (and the journal, without a file) quoted each hook's, migration's and test's whole
  // line at INFO, a command('…') condition's at DEBUG, and an env_var()'s value: read by more than
  // the manifest's copies.
  it("the log names hooks, migrations, tests and command() conditions by their program too", async () => {
    const secret = "s3cr3t-token-88";
    await release(
      [
        "conditionals:",
        `  - {condition: "command('test ${secret} = other')", action: warn}`,
        `  - {condition: "env_var('SHIP_TEST_CREDENTIAL') == 'other'", action: warn}`,
        "hooks:",
        `  pre_update: ["TOKEN=${secret} true ${secret}"]`,
        "migrations:",
        `  "2.0.0": ["true ${secret}"]`,
        "post_update_tests:",
        `  - {name: health, command: "test ${secret} = other"}`,
        "",
      ].join("\n"),
    );
    const lines = await logAt(app, "DEBUG");
    // The agent's environment holds secrets commands never see; its condition's value is not logged.
    const run = await runShip(["--config", app.config], { env: { SHIP_TEST_CREDENTIAL: secret } });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const logged = await lines();
    expect(logged.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["conditional command('test …') = false", "pre_update hook[0] succeeded"]),
    );
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          msg: "conditional env_var('SHIP_TEST_CREDENTIAL') == 'other' = false",
          observations: ["env_var('SHIP_TEST_CREDENTIAL') = (set; its value is not logged)"],
        }),
        expect.objectContaining({ msg: "pre_update hook[0] succeeded", command: "true …" }),
        expect.objectContaining({ msg: "migration 2.0.0[0] succeeded", command: "true …" }),
      ]),
    );
    expect(JSON.stringify(logged) + run.stdout + run.stderr).not.toContain(secret);
  });
});
