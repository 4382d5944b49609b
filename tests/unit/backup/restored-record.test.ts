/** The record of consumed backups (restored-record.ts): kept apart from the trash, and bounded. */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { MAX_RESTORED_RECORDED, recordRestored, restoredAt } from "../../../agent/backup/restored-record.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-restored-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

it("answers when each backup was restored, keeping only the newest MAX_RESTORED_RECORDED", async () => {
  const app = join(root, "myapp");
  const start = Date.UTC(2026, 0, 1);
  for (let n = 0; n < MAX_RESTORED_RECORDED + 5; n++)
    await recordRestored(app, `myapp-${n}`, new Date(start + n * 1000));
  expect(await restoredAt(root, "myapp-4")).toBeUndefined();
  expect(await restoredAt(root, "myapp-5")).toBe(new Date(start + 5000).toISOString());
  expect(await restoredAt(root, `myapp-${MAX_RESTORED_RECORDED + 4}`)).toBeDefined();
  const text = await readFile(join(app, ".restored.json"), "utf8");
  expect(JSON.parse(text).restored).toHaveLength(MAX_RESTORED_RECORDED);
  expect(await restoredAt(root, "other")).toBeUndefined();
});

it("a damaged record is started afresh, never failing the restore that writes it", async () => {
  const app = join(root, "myapp");
  await recordRestored(app, "myapp-1");
  await writeFile(join(app, ".restored.json"), "{not json");
  expect(await restoredAt(root, "myapp-1")).toBeUndefined();
  await recordRestored(app, "myapp-2");
  expect(await restoredAt(root, "myapp-2")).toBeDefined();
});
