/**
 * A hub upgraded over a database whose releases were stored before their manifest warnings were:
 * the migration adds the column and parses no manifest (a hub with thousands of releases starts as
 * fast); such a release reads with no warnings stored, and its view computes them (release-view.ts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { releaseListed } from "../../../hub/api/release-view.js";
import { migrations } from "../../../hub/store/migrations.js";
import { SqliteStore } from "../../../hub/store/sqlite-store.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-relwarn-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("releases stored before their warnings were", () => {
  it("read without stored warnings after the upgrade, their view saying the manifest's", () => {
    const file = join(dir, "hub.db");
    const db = new Database(file);
    db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
    // Every migration but the one that adds releases.warnings (the last).
    for (let i = 0; i < migrations.length - 1; i++) {
      db.exec(migrations[i] as string);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(i + 1);
    }
    db.prepare(
      `INSERT INTO releases (id, app, version, manifest, source, signature, created, created_by)
       VALUES ('old', 'web', '1.0.0', ?, '{"type":"git","commit":"abcdef1"}', NULL, 1, 'ci')`,
    ).run('version: "1.0.0"\nauto_rolback_on: [health_check]\n');
    db.close();
    const store = new SqliteStore(file);
    try {
      const old = store.getRelease("old");
      expect(old).toBeDefined();
      expect(old).not.toHaveProperty("warnings");
      expect(releaseListed(old as NonNullable<typeof old>).warnings).toEqual([
        'warning: manifest:2:1 auto_rolback_on: unknown key "auto_rolback_on"; ignored',
      ]);
    } finally {
      store.close();
    }
  });
});
