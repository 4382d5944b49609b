/**
 * A local .tar.gz left files the app held out of staging; one of them is edited in the app before
 * the apply (here by a pre_update hook), so the apply has it written from a second pass over the
 * archive, which CI meanwhile replaced (another release, or one still being written). The release
 * moved under the run: exit 1, the app as it was, and the next run installs the archive as it is
 * now. It was exit 2, "bad input", for an archive nothing was wrong with.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-archive-replaced-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function release(manifest: string, files: Record<string, string>): Buffer {
  return gzipSync(
    buildTar([
      { path: "update-manifest.yaml", body: manifest },
      ...Object.entries(files).map(([path, body]) => ({ path, body })),
    ]),
  );
}

describe("a local archive replaced between its first read and the apply", () => {
  for (const [label, replacement] of [
    ["another release", () => release('version: "3.0.0"\n', { "lib/a": "a3\n", "lib/b": "b3\n" })],
    ["a file still being written", () => release('version: "3.0.0"\n', { "lib/a": "a3\n" }).subarray(0, 40)],
  ] as const) {
    it(`by ${label}: exit 1, the app unchanged, the next run installs what is there`, async () => {
      const base = join(root, label.replaceAll(" ", "-"));
      const app = join(base, "app");
      const archive = join(base, "release.tar.gz");
      const next = join(base, "next.tar.gz");
      await mkdir(app, { recursive: true });
      const config = join(base, "ship.toml");
      await writeFile(
        config,
        `[general]\nstate_file = "${base}/var/state.json"\nbackup_dir = "${base}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.web]\ntype = "local"\npath = "${archive}"\napp_dir = "${app}"\n`,
      );
      await writeFile(archive, release('version: "1.0.0"\n', { "lib/a": "a1\n", "lib/b": "b1\n" }));
      const first = await runShip(["--config", config]);
      expect(first.code, first.stderr).toBe(0);

      // 2.0.0 changes lib/b only, so lib/a is left out of staging; the hook then edits lib/a and
      // puts the replacement where the archive was.
      await writeFile(next, replacement());
      const hook = `echo edited > ${join(app, "lib/a")} && cp ${next} ${archive}`;
      await writeFile(
        archive,
        release(`version: "2.0.0"\nhooks:\n  pre_update:\n    - ${JSON.stringify(hook)}\n`, {
          "lib/a": "a1\n",
          "lib/b": "b2\n",
        }),
      );
      const update = await runShip(["--config", config]);
      expect(update.code, update.stderr).toBe(1);
      expect(update.stderr).toContain("the next run tries again");
      expect(await readFile(join(app, "lib/b"), "utf8")).toBe("b1\n");
      expect(await readFile(join(app, "lib/a"), "utf8")).toBe("edited\n");

      const good = release('version: "3.0.0"\n', { "lib/a": "a3\n", "lib/b": "b3\n" });
      await writeFile(next, good);
      await cp(next, archive);
      const after = await runShip(["--config", config]);
      expect(after.code, after.stderr).toBe(0);
      expect(await readFile(join(app, "lib/a"), "utf8")).toBe("a3\n");
      expect(await readFile(join(app, "lib/b"), "utf8")).toBe("b3\n");
    });
  }
});
