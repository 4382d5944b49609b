/**
 * A notification message with a `{word}` that is no placeholder (`{verison}`, or a guess such as
 * `{previous_version}`) went to the channel as written on every update, while --test-manifest said
 * "0 warnings" and the run logged nothing. Real CLI, a real webhook receiver.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhookReceiver } from "../../support/servers/webhook-receiver.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

describe("notification messages: placeholders", () => {
  let app: LocalApp;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let releaseDir: string;
  beforeEach(async () => {
    app = await localApp();
    hook = await webhookReceiver();
    releaseDir = await app.release(
      "v2",
      [
        'version: "2.0.0"',
        "notifications:",
        "  on_success:",
        "    - type: webhook",
        `      url: "${hook.url}"`,
        '      message: "{app} {verison} is in (was {previous_version}); payload {\\"k\\": 1}"',
        "",
      ].join("\n"),
    );
  });
  afterEach(async () => {
    await hook.close();
    await app.cleanup();
  });

  it("--test-manifest warns about each, naming the key and the placeholders, and a typo's fix", async () => {
    const r = await runShip(["--test-manifest", `${releaseDir}/update-manifest.yaml`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("(0 file rules, 2 warnings)");
    expect(r.stderr).toContain(
      "notifications.on_success[0].message: {verison} is no placeholder and is sent as written (placeholders: {version} {error} {app} {host} {system_id} {timestamp}); did you mean {version}?",
    );
    expect(r.stderr).toContain("notifications.on_success[0].message: {previous_version} is no placeholder");
    // JSON-like braces are no placeholder-shaped word: not warned about.
    expect(r.stderr).not.toContain('{"k"');
  });

  it("the run logs the warning and sends the known placeholders filled, the rest as written", async () => {
    const r = await runShip(["--config", app.config]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("manifest: {verison} is no placeholder and is sent as written");
    expect(hook.bodies.map((b) => b.text)).toEqual([
      'myapp {verison} is in (was {previous_version}); payload {"k": 1}',
    ]);
  });
});
