/**
 * Odd tar entries through the real `ship` CLI, from every source kind that can run here without a
 * server we do not have: a local archive and an HTTP server. A GNU-tar self link installs; an
 * archive ship refuses is exit 2 naming the entry on every attempt, and the app stays untouched.
 */
import { execFileSync } from "node:child_process";
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";

const routes = new Map<string, { body: Buffer }>();
const server = fileServerForFile(routes);

describe.skipIf(!hasProgram("tar"))("odd tar entries through `ship` (local archive, http)", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-odd-cli-"));
    await mkdir(join(root, "app"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** GNU tar writes `run.sh` a second time as a hard link to itself (it has two names). */
  async function selfLinkArchive(): Promise<string> {
    const src = join(root, "src");
    await mkdir(src);
    await writeFile(join(src, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(src, "run.sh"), "#!/bin/sh\necho v1\n", { mode: 0o755 });
    await link(join(src, "run.sh"), join(src, "run-too.sh"));
    const archive = join(root, "release.tar");
    execFileSync("tar", ["cf", archive, "update-manifest.yaml", "run.sh", "run.sh", "run-too.sh"], {
      cwd: src,
    });
    return archive;
  }

  async function config(kind: "local" | "http", archive: string): Promise<string> {
    routes.set("/release.tar", { body: await readFile(archive) });
    const where = kind === "local" ? `path = "${archive}"` : `url = "${server.url}/release.tar"`;
    const file = join(root, "ship.toml");
    await writeFile(
      file,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.myapp]\ntype = "${kind}"\n${where}\napp_dir = "${root}/app"\n`,
    );
    return file;
  }

  for (const kind of ["local", "http"] as const) {
    it(`${kind}: an entry hard-linked to its own name installs as the file itself`, async () => {
      const run = await runShip(["--config", await config(kind, await selfLinkArchive())]);
      expect(run.code, run.stderr).toBe(0);
      expect(await readFile(join(root, "app/run.sh"), "utf8")).toBe("#!/bin/sh\necho v1\n");
      expect((await stat(join(root, "app/run-too.sh"))).ino).toBe((await stat(join(root, "app/run.sh"))).ino);
    });

    it(`${kind}: a hard link to a later entry is exit 2 naming the entry, every time, app untouched`, async () => {
      const archive = join(root, "bad.tar");
      await writeFile(
        archive,
        buildTar([
          { path: "update-manifest.yaml", body: 'version: "1.0.0"\n' },
          { path: "early.sh", type: "Link", linkpath: "late.sh" },
          { path: "late.sh", body: "x" },
        ]),
      );
      const cfg = await config(kind, archive);
      for (let attempt = 0; attempt < 2; attempt++) {
        const run = await runShip(["--config", cfg]);
        expect(run.code, run.stderr).toBe(2);
        expect(run.stdout + run.stderr).toMatch(/entry \\?"early\.sh\\?": hard link to late\.sh/);
        expect(run.stdout + run.stderr).not.toMatch(/ENOENT|EEXIST|internal error/);
      }
      expect(await readdir(join(root, "app"))).toEqual([]);
    });
  }
});
