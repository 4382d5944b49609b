/**
 * `ship --rollback` of a change costs what changed, down to the system calls: each copy the backup
 * saved is looked at once before anything moves (it is there, and its size and content are what the
 * update saved) and once by the restore that moves it back. The preflight took two lstat calls of
 * every saved copy, one for each check: 200 more in a 1 % rollback of a 20,000-file app (issue 11).
 * The app's files it puts back, and the saved copies (here and in `--list-backups`), are looked at
 * by numbers only (lstat-lite.ts), never through lstatSync's Stats or BigIntStats. Every lstat is
 * counted where it reaches Node's fs binding ($SHIP_LSTAT_TRACE), lstatSync's apart ($SHIP_STAT_TRACE).
 */
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

const TRACE = fileURLToPath(new URL("../../support/file-read-trace.cjs", import.meta.url));
const files = (version: string) =>
  Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`lib/f${i}.txt`, `${i} ${version}\n`]));

describe("ship --rollback lstats each saved copy at most twice, and builds no Stats for it or an app file", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("one look before the restore, one by the restore", async () => {
    for (const version of ["1.0.0", "2.0.0"]) {
      await app.release(`v${version}`, `version: "${version}"\n`, files(version));
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
    }
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as { id: string; version: string | null; path: string }[];
    const backup = listed.find((b) => b.version === "1.0.0");
    expect(backup).toBeDefined();
    // Nothing ship does between the update's record and the rollback moves a copy's ctime or inode
    // (its own hard links, the trash, later updates): the rollback reads none of them to judge it.
    const saved0 = JSON.parse(await readFile(join(backup?.path ?? "", "saved.json"), "utf8")) as Record<
      string,
      { mtimeNs: string; ctimeNs: string; ino: string }
    >;
    expect(Object.keys(saved0)).toHaveLength(12);
    for (const [rel, record] of Object.entries(saved0)) {
      const now = await lstat(join(backup?.path ?? "", "files", rel), { bigint: true });
      expect([String(now.mtimeNs), String(now.ctimeNs), String(now.ino)], rel).toEqual([
        record.mtimeNs,
        record.ctimeNs,
        record.ino,
      ]);
    }
    const saved = `${backup?.path}/files/lib/`;
    // The listing checks each saved copy by its numbers (lstat-lite.ts), not a BigIntStats.
    const listTrace = join(app.root, "list-stats.txt");
    const listLstats = join(app.root, "list-lstats.txt");
    const list = await runShip(["--config", app.config, "--list-backups"], {
      env: { NODE_OPTIONS: `--require ${TRACE}`, SHIP_STAT_TRACE: listTrace, SHIP_LSTAT_TRACE: listLstats },
    });
    expect(list.code, list.stdout + list.stderr).toBe(0);
    const listedCopies = new Set(
      (await readFile(listLstats, "utf8")).split("\n").filter((p) => p.startsWith(saved)),
    );
    expect(listedCopies.size).toBe(12);
    const listSync = (await readFile(listTrace, "utf8").catch(() => ""))
      .split("\n")
      .filter((p) => p.startsWith(saved));
    expect(listSync, listSync.join("\n")).toEqual([]);
    const trace = join(app.root, "stats.txt");
    const lstats = join(app.root, "lstats.txt");
    const rollback = await runShip(["--config", app.config, "--rollback", backup?.id ?? ""], {
      env: { NODE_OPTIONS: `--require ${TRACE}`, SHIP_STAT_TRACE: trace, SHIP_LSTAT_TRACE: lstats },
    });
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "lib/f3.txt"), "utf8")).toBe("3 1.0.0\n");
    const perCopy = new Map<string, number>();
    for (const path of (await readFile(lstats, "utf8")).split("\n")) {
      if (path.startsWith(saved)) perCopy.set(path, (perCopy.get(path) ?? 0) + 1);
    }
    // Every changed file was saved and looked at; none more than twice. (The backup also saved the
    // release's update-manifest.yaml, which changed too: counted the same way, not listed here.)
    expect(perCopy.size).toBe(12);
    expect(
      [...perCopy].filter(([, count]) => count > 2),
      [...perCopy].join("\n"),
    ).toEqual([]);
    // The app's files are looked at by numbers only (lstat-lite.ts): Node's lstatSync builds a
    // Stats with four Date objects each time, for three looks per file (still ship's? how many
    // names? readable?): ~2–10 ms of a 1 % rollback's CPU with the saved copies' existence checks.
    // Base: 3 per app file, and 2 per saved copy (its BigIntStats, its existence).
    const throughStats = (await readFile(trace, "utf8"))
      .split("\n")
      .filter((path) => path.startsWith(`${app.appDir}/lib/`) || path.startsWith(saved));
    expect(throughStats, throughStats.join("\n")).toEqual([]);
  });
});
