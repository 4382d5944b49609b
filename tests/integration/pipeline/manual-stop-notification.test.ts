/**
 * A release waiting for manual steps stops every run until it is approved. Its on_failure went out
 * on every one of those runs (a daily timer: one Slack message a day for the same stop). It is now
 * sent once per stop: again for another release or another condition's message, or when something
 * else happened to the app in between. Real CLI, real HTTP receiver.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhookReceiver } from "../../support/servers/webhook-receiver.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

describe("on_failure for a manual-intervention stop", () => {
  let app: LocalApp;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let url: string;
  const texts = () => hook.bodies.map((b) => String(b.text));

  beforeEach(async () => {
    hook = await webhookReceiver();
    url = hook.url;
    app = await localApp();
    await app.release("r1", 'version: "1.0.0"\n');
    expect((await runShip(["--config", app.config])).code).toBe(0);
  });
  afterEach(async () => {
    await hook.close();
    await app.cleanup();
  });

  const release = (name: string, version: string, message: string) =>
    app.release(
      name,
      `version: "${version}"
conditionals:
  - condition: "current_version < '${version}'"
    action: "require_manual_intervention"
    message: "${message}"
    manual_steps: ["Back up the database"]
notifications:
  on_failure:
    - type: webhook
      url: "${url}"
      message: "{app}: {error}"
`,
      { "app.txt": `${name}\n` },
    );
  const run = async () => {
    const result = await runShip(["--config", app.config]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return result;
  };

  it("is sent when the stop is first met, not on every run that meets it again", async () => {
    await release("r2", "2.0.0", "Major upgrade");
    await run();
    const again = await run();
    expect(again.stdout).toContain("manual intervention required before updating to 2.0.0");
    await run();
    expect(texts()).toEqual([
      "myapp: manual intervention required: Major upgrade; once the manual steps are done, approve them with --approve myapp 2.0.0",
    ]);
  });

  it("is sent again for another release, another message, or after another outcome", async () => {
    await release("r2", "2.0.0", "Major upgrade");
    await run();
    await release("r3", "3.0.0", "Major upgrade");
    await run();
    await release("r3", "3.0.0", "Schema change");
    await run();
    // A failed run in between (its own on_failure), then the same stop as before it.
    await app.release(
      "r4",
      `version: "4.0.0"\nrequirements:\n  required_commands: ["no-such-command-here"]\nnotifications:\n  on_failure:\n    - type: webhook\n      url: "${url}"\n      message: "{app}: {error}"\n`,
    );
    expect((await runShip(["--config", app.config])).code).toBe(1);
    await release("r3", "3.0.0", "Schema change");
    await run();
    expect(texts()).toEqual([
      "myapp: manual intervention required: Major upgrade; once the manual steps are done, approve them with --approve myapp 2.0.0",
      "myapp: manual intervention required: Major upgrade; once the manual steps are done, approve them with --approve myapp 3.0.0",
      "myapp: manual intervention required: Schema change; once the manual steps are done, approve them with --approve myapp 3.0.0",
      "myapp: required_commands.no-such-command-here: no-such-command-here not found on PATH; the app's files were not changed",
      "myapp: manual intervention required: Schema change; once the manual steps are done, approve them with --approve myapp 3.0.0",
    ]);
  });
});
