import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

/**
 * The seed's own pairing: `[sources.X.security] allowed_file_types` (".py", ".toml", … no ".env")
 * and a manifest whose `.env` and `secrets/*` are `skip` ("never touch"). ship installs no skipped
 * file, yet refused the whole release for carrying one ("main_app: .env: file type not in
 * allowed_file_types"), exit 2 on every run: a git repository holding its `.env` could never be
 * installed. The check is about what reaches the app; files a skip rule keeps out do not.
 */
const SEED_TYPES = `\n[sources.myapp.security]\nallowed_file_types = [".py", ".toml", ".json", ".sql", ".md", ".txt", ".yaml"]\n`;
const MANIFEST = `version: "1.0.0"\nfiles:\n  ".env":\n    action: "skip"\n  "secrets/*":\n    action: "skip"\n`;

describe("ship run: allowed_file_types and the files skip rules keep out of the app", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp(SEED_TYPES);
  });
  afterEach(() => app.cleanup());

  it("a release carrying skipped .env and secrets/db/password installs its allowed files, the skipped ones not", async () => {
    await app.release("r1", MANIFEST, {
      "main.py": "print(1)\n",
      ".env": "SECRET=release\n",
      "secrets/key.pem": "k\n",
      "secrets/db/password": "p\n",
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain("allowed_file_types");
    const installed = (await readdir(app.appDir, { recursive: true, withFileTypes: true }))
      .filter((entry) => !entry.isDirectory())
      .map((entry) => entry.name);
    expect(installed).toEqual(["main.py"]);
    expect(await readFile(join(app.appDir, "main.py"), "utf8")).toBe("print(1)\n");
  });

  it("a file no skip rule keeps out is still refused, exit 2, nothing installed", async () => {
    await app.release("r1", MANIFEST, { "main.py": "print(1)\n", ".env": "S=1\n", "tool.sh": "echo\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.code).toBe(2);
    // The refusal names the key the list came from: the operator's ship.toml, not the manifest.
    expect(run.stderr).toMatch(
      /tool\.sh: file type not in allowed_file_types \(\.py, [^)]*\): \[sources\.myapp\.security\] allowed_file_types/,
    );
    expect(await readdir(app.appDir)).toEqual([]);
  });
});
