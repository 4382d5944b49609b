import { createHash } from "node:crypto";
import { chmod, chown, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const isRoot = process.getuid?.() === 0;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const manifest = (version: string) => `version: "${version}"\n`;

describe("privileged_files", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp(`\n[sources.myapp.security]\nprivileged_files = ["scripts/system_config.py"]\n`);
  });
  afterEach(() => app.cleanup());

  it("keep mode (never setuid) and, as root, owner and group; each change is logged at WARNING with its sha256", async () => {
    const v1 = await app.release("v1", manifest("1.0.0"), {
      "scripts/system_config.py": "print('v1')\n",
      "app.py": "v1\n",
    });
    await chmod(join(v1, "app.py"), 0o644);
    expect((await runShip(["--config", app.config])).code).toBe(0);

    // The operator locks the script down; someone even left it setuid.
    const script = join(app.appDir, "scripts/system_config.py");
    if (isRoot) await chown(script, 1234, 2345);
    await chmod(script, 0o4750);

    const v2 = await app.release("v2", manifest("2.0.0"), {
      "scripts/system_config.py": "print('v2')\n",
      "app.py": "v2\n",
    });
    await chmod(join(v2, "scripts/system_config.py"), 0o755);
    await chmod(join(v2, "app.py"), 0o755);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);

    expect(await readFile(script, "utf8")).toBe("print('v2')\n");
    const installed = await stat(script);
    expect((installed.mode & 0o7777).toString(8)).toBe("750");
    if (isRoot) expect([installed.uid, installed.gid]).toEqual([1234, 2345]);
    // An ordinary file takes the release's mode as before.
    expect(((await stat(join(app.appDir, "app.py"))).mode & 0o777).toString(8)).toBe("755");

    const warning = run.stderr
      .split("\n")
      .find((l) => l.includes("privileged file scripts/system_config.py"));
    expect(warning, run.stderr).toBeDefined();
    expect(warning).toMatch(/"level":\s*(40|"warn(ing)?")/i);
    expect(warning).toContain(sha256("print('v2')\n"));
    expect(warning).toContain(sha256("print('v1')\n"));
  }, 120_000);
});
