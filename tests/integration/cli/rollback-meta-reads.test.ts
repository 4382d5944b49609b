/**
 * `ship --rollback` reads each backup's meta.json once: the CLI's lookup, the chain's listing, the
 * state directory and the restore all use what was read (a complete meta.json never changes; the
 * restore deletes it). Before, the target's meta.json was read five times (two findBackup calls, a
 * listing, the state directory, the restore).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const TRACE = fileURLToPath(new URL("../../support/file-read-trace.cjs", import.meta.url));

describe("ship --rollback reads a backup's meta.json once", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it.each(["id", "path"])("by %s, through a chain of two restores", async (how) => {
    for (const version of ["1.0.0", "2.0.0", "3.0.0"]) {
      await app.release(`v${version}`, `version: "${version}"\n`);
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
    }
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string | null;
      path: string;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    expect(toV1).toBeDefined();
    const trace = join(app.root, "reads.txt");
    const rollback = await runShip(
      ["--config", app.config, "--rollback", how === "id" ? (toV1?.id ?? "") : (toV1?.path ?? "")],
      {
        env: { NODE_OPTIONS: `--require ${TRACE}`, SHIP_READ_TRACE: trace },
      },
    );
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1.0.0\n");
    const reads = (await readFile(trace, "utf8")).split("\n").filter((p) => p.endsWith("/meta.json"));
    expect(reads.length).toBeGreaterThan(0);
    const perFile = new Map<string, number>();
    for (const path of reads) perFile.set(path, (perFile.get(path) ?? 0) + 1);
    expect([...perFile.values()], [...perFile].join("\n")).toEqual(Array(listed.length).fill(1));
  });
});
