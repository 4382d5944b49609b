/**
 * SOURCE_DATE_EPOCH is whole decimal seconds since the epoch (reproducible-builds.org spec), and a
 * tool should fail on a malformed one: "abc" gave today's date silently (the build no longer
 * reproducible), "1e3" was read as 1000. Each malformed value is exit 2 naming the variable, no
 * archive; the last second of year 9999 and 0 are dates a release_date can hold.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-sde-malformed-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function release(name: string, epoch: string) {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "app.txt"), "hi\n");
  await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
  const run = await runShip(["release", "-C", dir, "http", "1.0.1", "desc"], {
    env: { ...process.env, SOURCE_DATE_EPOCH: epoch },
  });
  const archives = (await readdir(dir)).filter((f) => f.endsWith(".tar.gz"));
  return { dir, run, archives };
}

describe("ship release http with a malformed SOURCE_DATE_EPOCH", () => {
  it.each([
    ["abc", "decimal digits only"],
    ["1e3", "decimal digits only"],
    ["-1", "decimal digits only"],
    ["1700000000.5", "decimal digits only"],
    [" 1700000000", "decimal digits only"],
    ["253402300800", "after 9999-12-31T23:59:59Z"],
  ])(
    "SOURCE_DATE_EPOCH=%j: exit 2 naming the variable and what is wrong, no archive",
    async (epoch, what) => {
      const { run, archives } = await release(`bad-${encodeURIComponent(epoch)}`, epoch);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(`SOURCE_DATE_EPOCH ${JSON.stringify(epoch)}`);
      expect(run.stderr).toContain(what);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(archives).toEqual([]);
    },
  );

  it.each([
    ["253402300799", "9999-12-31"],
    ["0", "1970-01-01"],
  ])("SOURCE_DATE_EPOCH=%s stamps release_date %s", async (epoch, date) => {
    const { dir, run, archives } = await release(`good-${epoch}`, epoch);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(archives).toHaveLength(1);
    // The manifest inside the archive carries the date; the source's is left as it was.
    const manifest = execFileSync(
      "tar",
      ["-xzOf", join(dir, archives[0] ?? ""), "--wildcards", "*/update-manifest.yaml"],
      {
        encoding: "utf8",
      },
    );
    expect(manifest).toContain(`release_date: "${date}"`);
  });
});
