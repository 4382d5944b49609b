/**
 * The seed's `"secrets/*": {action: skip}` ("sensitive files — never touch") protects what is under
 * secrets/ at any depth. With minimatch alone, `*` stops at `/`: secrets/api.key was kept but the
 * release's secrets/db/password replaced the operator's, exit 0, and nothing said so. The real
 * CLI, from a first install through an update and a rollback.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const manifest = (version: string) =>
  `version: "${version}"\nfiles:\n  "secrets/*":\n    action: skip\n  "**/*.py":\n    action: replace\n`;

describe("a skip rule on a directory", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("secrets/* keeps the operator's nested secrets through an update and its rollback", async () => {
    await app.release("r1", manifest("1.0.0"), { "app.py": "v1\n" });
    const first = await runShip(["--config", app.config]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // The operator's own secrets, at two depths.
    await mkdir(join(app.appDir, "secrets/db/replica"), { recursive: true });
    await writeFile(join(app.appDir, "secrets/api.key"), "operator key\n");
    await writeFile(join(app.appDir, "secrets/db/password"), "operator password\n");
    await writeFile(join(app.appDir, "secrets/db/replica/ca.py"), "operator ca\n");

    // The next release ships placeholders at the same paths (a template directory committed by
    // mistake, as happens) and a code change.
    await app.release("r2", manifest("2.0.0"), {
      "app.py": "v2\n",
      "secrets/api.key": "PLACEHOLDER\n",
      "secrets/db/password": "PLACEHOLDER\n",
      "secrets/db/replica/ca.py": "PLACEHOLDER\n",
    });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stdout + update.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.py"), "utf8")).toBe("v2\n");
    expect(await readFile(join(app.appDir, "secrets/api.key"), "utf8")).toBe("operator key\n");
    expect(await readFile(join(app.appDir, "secrets/db/password"), "utf8")).toBe("operator password\n");
    expect(await readFile(join(app.appDir, "secrets/db/replica/ca.py"), "utf8")).toBe("operator ca\n");

    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const backups = JSON.parse(listed.stdout) as { id: string; version: string }[];
    const back = backups.find((b) => b.version === "1.0.0");
    expect(back, listed.stdout).toBeDefined();
    const rollback = await runShip(["--config", app.config, "--rollback", (back as { id: string }).id]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.py"), "utf8")).toBe("v1\n");
    expect(await readFile(join(app.appDir, "secrets/db/password"), "utf8")).toBe("operator password\n");
    expect(await readFile(join(app.appDir, "secrets/db/replica/ca.py"), "utf8")).toBe("operator ca\n");
  });
});
