/**
 * README (Releasing): `ship release http` stamps the manifest's `release_date` with
 * SOURCE_DATE_EPOCH when it is set, and `release_date` must be an ISO 8601 date every host reads
 * alike ("2025-01-20"). A SOURCE_DATE_EPOCH past year 9999 wrote `release_date: "+010000-01"` (an
 * expanded year cut to 10 characters) into the archive, exit 0, a manifest --test-manifest then
 * warns is "not a date" (and a staged rollout without `start` would refuse on every host); a larger
 * one was "internal error: Invalid time value", exit 1. Either should be exit 2 naming
 * SOURCE_DATE_EPOCH, with no archive written.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-sde-range-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("ship release http with a SOURCE_DATE_EPOCH no release_date can hold", () => {
  for (const epoch of ["253402300800", "99999999999999"]) {
    it(`SOURCE_DATE_EPOCH=${epoch}: exit 2 naming the variable, no archive`, async () => {
      const dir = join(root, epoch);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "app.txt"), "hi\n");
      await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
      const run = await runShip(["release", "-C", dir, "http", "1.0.1", "desc"], {
        env: { ...process.env, SOURCE_DATE_EPOCH: epoch },
      });
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain("SOURCE_DATE_EPOCH");
      expect((await readdir(dir)).filter((f) => f.endsWith(".tar.gz"))).toEqual([]);
    });
  }
});
