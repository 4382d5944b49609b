/**
 * A run SIGKILLed between making its backup directory and writing its update's journal left that
 * directory for good: no record names it, so no recovery removed it, no listing showed it and
 * keep_backups never counted it. A timer retrying after each kill piled them up until the disk was
 * full. The app's next run removes them; `--list-backups` says how many there are meanwhile; what a
 * pending update or recovery still names is never touched.
 */
import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepPartialBackups } from "../../../agent/backup/partial-backups.js";
import { runShip, startShip } from "../../support/ship-cli.js";
import { waitFor } from "../../support/wait-for.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("backups a killed run left half-made", () => {
  let app: LocalApp;
  let backups: string;
  beforeAll(async () => {
    app = await localApp();
    backups = join(app.root, "var/backups/myapp");
    await app.release("r1", 'version: "1.0.0"\n', { "a.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("r2", 'version: "2.0.0"\n', { "a.txt": "v2\n" });
  });
  afterAll(() => app.cleanup());

  const entries = async () => (await readdir(backups)).filter((name) => !name.startsWith("."));

  /** The backup directories whose meta.json does not say complete: true. */
  const partial = async () => {
    const out: string[] = [];
    for (const id of await entries()) {
      const meta = await readFile(join(backups, id, "meta.json"), "utf8").catch(() => undefined);
      if (meta === undefined || JSON.parse(meta).complete !== true) out.push(id);
    }
    return out;
  };
  const listedLine = async (ids: string[]) => {
    const listed = await runShip(["--config", app.config, "--list-backups"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(
      `incomplete: ${ids.length} backup(s) of myapp left by runs killed while making them (${ids.join(", ")}): nothing to restore; the app's next run removes them`,
    );
  };

  it("are listed as incomplete, then removed by the app's next run", async () => {
    // Killed before meta.json: a directory with none.
    const first = await runShip(["--config", app.config], { env: { SHIP_FAULT: "backup:started" } });
    expect(first.code, first.stderr).toBeNull();
    const [noMeta, ...more] = await partial();
    expect(more).toEqual([]);
    expect(await readFile(join(backups, noMeta ?? "", "meta.json"), "utf8").catch(() => "none")).toBe("none");
    await listedLine([noMeta ?? ""]);

    // The timer's retry, killed after meta.json (complete: false): the first one is gone by then.
    const second = await runShip(["--config", app.config], { env: { SHIP_FAULT: "backup:recorded" } });
    expect(second.code, second.stderr).toBeNull();
    expect(second.stderr).toContain("removed incomplete backups left by runs killed while making them");
    expect(second.stderr).toContain(noMeta);
    const [recorded, ...others] = await partial();
    expect(others).toEqual([]);
    const meta = JSON.parse(await readFile(join(backups, recorded ?? "", "meta.json"), "utf8"));
    expect(meta).toMatchObject({ toVersion: "2.0.0", complete: false });
    await listedLine([recorded ?? ""]);

    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(recorded);
    expect(await readFile(join(app.appDir, "a.txt"), "utf8")).toBe("v2\n");
    expect(await partial()).toEqual([]);
    const listedAfter = await runShip(["--config", app.config, "--list-backups"]);
    expect(listedAfter.stdout).not.toContain("incomplete");
  });

  const root = () => join(app.root, "var/backups");
  const make = (id: string) => mkdir(join(backups, id, "files"), { recursive: true });

  it("keeps what a pending update names, what was made since it began, and all while a recovery waits", async () => {
    // Named by the pending update, made since it began, and an older one nothing names.
    await make("myapp-20260101T000000Z");
    await make("myapp-20260102T000000Z");
    await make("myapp-20250101T000000Z");
    // An operator's directory, not named as ship names its backups.
    await make("myapp-copy");
    const needed = {
      recovering: false,
      paths: [join(backups, "myapp-20260101T000000Z")],
      pendingSince: "2026-01-01T23:59:59.500Z",
    };
    expect(await sweepPartialBackups(root(), "myapp", app.appDir, { ...needed, recovering: true })).toEqual(
      [],
    );
    expect(await sweepPartialBackups(root(), "myapp", app.appDir, needed)).toEqual([
      "myapp-20250101T000000Z",
    ]);
    const kept = await entries();
    for (const id of ["myapp-20260101T000000Z", "myapp-20260102T000000Z", "myapp-copy"])
      expect(kept).toContain(id);
  });

  it("leaves one without meta.json beside another app directory's backups, and says so", async () => {
    for (const id of ["myapp-20260101T000000Z", "myapp-20260102T000000Z"])
      await rm(join(backups, id), { recursive: true });
    // A whole backup's meta.json (the update's to 2.0.0), made another app directory's.
    const metas = await Promise.all(
      (await entries()).map((id) => readFile(join(backups, id, "meta.json"), "utf8").catch(() => "{}")),
    );
    const meta = metas.map((text) => JSON.parse(text)).find((m) => m.toVersion === "2.0.0" && m.complete);
    // Another config sharing backup_dir and the source name, installing elsewhere.
    const other = join(app.root, "other-app");
    await mkdir(other);
    await make("myapp-20200101T000000Z");
    const { appRealDir: _r, appDirId: _i, ...rest } = meta;
    await writeFile(
      join(backups, "myapp-20200101T000000Z", "meta.json"),
      JSON.stringify({ ...rest, id: "myapp-20200101T000000Z", appDir: other }),
    );
    await make("myapp-20240101T000000Z");
    expect(await sweepPartialBackups(root(), "myapp", app.appDir, { recovering: false, paths: [] })).toEqual(
      [],
    );
    expect(await entries()).toContain("myapp-20240101T000000Z");
    const listed = await runShip(["--config", app.config, "--list-backups"]);
    expect(listed.stdout).toContain(
      `incomplete: 1 backup(s) in ${backups} without meta.json (myapp-20240101T000000Z), beside another app directory's backups`,
    );
  });
});

/**
 * A run making its backup or applying under its journal leaves them on disk exactly as a killed run
 * does: `--list-backups` (which takes no lock) called the backup "left by runs killed while making
 * them", told the operator to `--recover` the update under way, and `--json` left the incomplete
 * backup out altogether. The run is held mid-step with SIGSTOP (SHIP_FAULT=<point>:stop).
 */
describe("a backup a running update is making", () => {
  let app: LocalApp;
  beforeAll(async () => {
    app = await localApp();
    await app.release("r1", 'version: "1.0.0"\n', { "a.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
  });
  afterAll(() => app.cleanup());

  const stoppedAt = async (point: string, release: string, version: string) => {
    await app.release(release, `version: "${version}"\n`, { "a.txt": `${release}\n` });
    const run = startShip(["--config", app.config], { env: { SHIP_FAULT: `${point}:stop` } });
    const pid = run.child.pid ?? 0;
    await waitFor(
      `ship stopped at ${point}`,
      async () => /^\S+ \(.*\) T/s.test(readFileSync(`/proc/${pid}/stat`, "utf8")),
      {
        timeoutMs: 15_000,
        intervalMs: 50,
        where: app.root,
      },
    );
    return run;
  };
  const list = async () => {
    const text = await runShip(["--config", app.config, "--list-backups"]);
    const json = await runShip(["--config", app.config, "--list-backups", "--json"]);
    expect(text.code, text.stderr).toBe(0);
    expect(json.code, json.stderr).toBe(0);
    return { text: text.stdout, json: JSON.parse(json.stdout) as Record<string, unknown>[] };
  };

  it("is listed as in the making by that run, in the text and in --json, and its journal as that run's", async () => {
    const making = await stoppedAt("backup:recorded", "r2", "2.0.0");
    const pid = making.child.pid;
    const during = await list();
    const row = during.json.find((b) => b.complete === false);
    expect(row).toMatchObject({ app: "myapp", inProgress: true, restorable: false, madeBy: { pid } });
    expect(during.text).toContain(
      `incomplete: 1 backup(s) of myapp being made now by a run of ship (pid ${pid} on `,
    );
    expect(during.text).toContain(`(${row?.id}): listed once that run completes them`);
    expect(during.text).not.toContain("killed");
    // Every row of --json says whether it is complete: the one backup the first install made is.
    expect(during.json.filter((b) => b.complete === true)).toHaveLength(1);
    making.child.kill("SIGCONT");
    expect((await making.done).code).toBe(0);
    const after = await list();
    expect(after.json.find((b) => b.id === row?.id)).toMatchObject({ complete: true, restorable: true });
    expect(after.text).not.toContain("incomplete");

    const applying = await stoppedAt("apply:journal-written", "r3", "3.0.0");
    const applied = await list();
    expect(applied.text).toContain(
      `not restorable: ${row?.id}: a run of ship (pid ${applying.child.pid} on `,
    );
    expect(applied.text).toContain(
      "is changing the app now (its journal.json): a rollback is refused until it ends",
    );
    expect(applied.text).not.toContain("killed");
    expect(applied.text).not.toContain("--recover");
    applying.child.kill("SIGCONT");
    expect((await applying.done).code).toBe(0);
    expect(await readFile(join(app.appDir, "a.txt"), "utf8")).toBe("r3\n");
  });
});
