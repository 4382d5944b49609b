/**
 * The signing secret a hub generates in its data dir. It was created and then written: a first
 * start cut short between the two (a power cut before the write reached the disk) left it empty,
 * and every start after failed "…/secret must hold at least 32 bytes, found 0 (empty)". No token
 * can have been signed with an empty secret, so a new one takes its place, said in a warning.
 * Real files in a temp dir.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { loadSecret } from "../../../../hub/auth/secret.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-secret-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("an empty generated secret is replaced by a new one (600), with a warning naming it, and then kept", async () => {
  const file = join(dir, "secret");
  await writeFile(file, "", { mode: 0o644 });
  const warnings: string[] = [];
  const first = await loadSecret({ dataDir: dir, warn: (m) => warnings.push(m) });
  expect(first.length).toBeGreaterThanOrEqual(32);
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  expect(warnings).toEqual([
    `${file} was empty (a first start cut short?): a new secret was generated in its place`,
  ]);
  const again = await loadSecret({ dataDir: dir, warn: (m) => warnings.push(m) });
  expect(again.equals(first)).toBe(true);
  expect(warnings).toHaveLength(1);
  // Nothing of the making is left beside it.
  expect(await readdir(dir)).toEqual(["secret"]);
});

it("processes starting at once on a new data dir agree on one secret, and a short one written by hand is still refused", async () => {
  const all = await Promise.all(Array.from({ length: 8 }, () => loadSecret({ dataDir: dir })));
  expect(new Set(all.map((s) => s.toString())).size).toBe(1);
  expect(all[0]?.toString()).toBe((await readFile(join(dir, "secret"), "utf8")).trim());
  await writeFile(join(dir, "secret"), "short");
  await expect(loadSecret({ dataDir: dir })).rejects.toThrow(/must hold at least 32 bytes, found 5/);
});
