/**
 * An update killed mid-run (SIGKILL, power cut, systemd's stop timeout) is undone at the next start.
 * The killed run never reached its notify step, and the undo sent nothing either: whoever watches
 * on_failure never heard that 2.0.0 came and went. Now the undo sends the interrupted release's
 * on_failure notifications, saying what happened to the app. Real CLI, real HTTP receiver.
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhookReceiver } from "../../support/servers/webhook-receiver.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe.skipIf(process.platform !== "linux")("an update a kill interrupted", () => {
  let app: LocalApp;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  beforeEach(async () => {
    app = await localApp();
    hook = await webhookReceiver();
  });
  afterEach(async () => {
    await hook.close();
    await app.cleanup();
  });

  it("is undone at the next start, and its on_failure notification says so", async () => {
    await app.release("r1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);

    // 2.0.0's post_update hook kills ship itself (its parent) the first time: the apply is done,
    // the health checks never run, no notify step is reached.
    const marker = join(app.root, "killed-once");
    await app.release(
      "r2",
      [
        'version: "2.0.0"',
        "hooks:",
        "  post_update:",
        `    - "[ -e ${marker} ] || { touch ${marker}; kill -9 $PPID; sleep 5; }"`,
        "notifications:",
        "  on_failure:",
        '    - type: "webhook"',
        `      url: "${hook.url}"`,
        '      message: "{app} {version} failed on {host}: {error}"',
        "",
      ].join("\n"),
      { "app.txt": "v2\n" },
    );
    const killed = await runShip(["--config", app.config]);
    expect(killed.code, killed.stderr).not.toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect(hook.bodies).toEqual([]);

    const next = await runShip(["--config", app.config, "--recover"]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect(hook.bodies, next.stderr).toHaveLength(1);
    expect(hook.bodies[0]).toMatchObject({ app: "myapp", version: "2.0.0", status: "failure" });
    expect(String(hook.bodies[0]?.error)).toMatch(/update to 2\.0\.0 was interrupted; restored 1\.0\.0/);
    expect(String(hook.bodies[0]?.message)).toMatch(
      /^myapp 2\.0\.0 failed on .+: update to 2\.0\.0 was interrupted/,
    );
  });

  it("an on_failure that did not arrive is a WARNING of --recover and of --rollback, not a log line only", async () => {
    await app.release("r1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const marker = join(app.root, "killed-once");
    // Nothing listens on port 9: each attempt is refused.
    const manifest = (hooks: string[]) =>
      [
        'version: "2.0.0"',
        "hooks:",
        "  post_update:",
        ...hooks,
        "notifications:",
        "  on_failure:",
        '    - type: "webhook"',
        '      url: "http://127.0.0.1:9/hooks/secret-path"',
        "",
      ].join("\n");
    await app.release(
      "r2",
      manifest([`    - "[ -e ${marker} ] || { touch ${marker}; kill -9 $PPID; sleep 5; }"`]),
      {
        "app.txt": "v2\n",
      },
    );
    expect((await runShip(["--config", app.config])).code).not.toBe(0);
    const recovered = await runShip(["--config", app.config, "--recover"]);
    expect(recovered.code, recovered.stderr).toBe(0);
    // Before: only a JSON log line, "notification could not be delivered".
    expect(recovered.stderr).toMatch(
      /^myapp: WARNING: on_failure\[0\] webhook to http:\/\/127\.0\.0\.1:9\/… could not be delivered: .*$/m,
    );
    expect(recovered.stderr).not.toContain("secret-path");

    expect((await runShip(["--config", app.config, "--force"])).code).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string | null;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    const rolledBack = await runShip(["--config", app.config, "--rollback", toV1?.id ?? ""]);
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    expect(rolledBack.stderr).toMatch(
      /^myapp: WARNING: on_failure\[0\] webhook to http:\/\/127\.0\.0\.1:9\/… could not be delivered/m,
    );
  });
});
