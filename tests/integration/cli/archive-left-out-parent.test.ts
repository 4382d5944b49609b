/**
 * An archive whose entry sits under a file of the same archive (`app/x/d`, then `app/x/d/f`) cannot
 * be extracted (tar: "Not a directory"). ship refuses it as bad input, exit 2, on a first install;
 * an update must give the same verdict when the app already holds `x/d`, and the file is left out
 * of staging: nothing on disk then stops the directory from being made.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar, type RawEntry } from "../../unit/sources/tar-builder.js";

const routes = new Map<string, { body: Buffer; etag?: string }>();
const server = fileServerForFile(routes);
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-left-out-parent-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function release(version: string, extra: RawEntry[] = []): Buffer {
  return gzipSync(
    buildTar([
      { path: `myapp-${version}/update-manifest.yaml`, body: `version: "${version}"\n` },
      { path: `myapp-${version}/x/d`, body: "a file\n" },
      ...extra,
    ]),
  );
}

describe("an entry under a file the app already holds", () => {
  for (const kind of ["local", "http"] as const) {
    for (const type of ["File", "SymbolicLink", "Directory"] as const) {
      it(`${kind}: a ${type} entry under it is refused as on a first install, exit 2, app unchanged`, async () => {
        const base = join(root, `${kind}-${type}`);
        await mkdir(base);
        const archive = join(base, "release.tar.gz");
        const publish = async (body: Buffer, etag: string) => {
          await writeFile(archive, body);
          routes.set(`/${kind}-${type}/release.tar.gz`, { body, etag });
        };
        const config = async (name: string) => {
          const file = join(base, `${name}.toml`);
          const where =
            kind === "local" ? `path = "${archive}"` : `url = "${server.url}/${kind}-${type}/release.tar.gz"`;
          await writeFile(
            file,
            `[general]\nstate_file = "${base}/${name}-var/state.json"\nbackup_dir = "${base}/${name}-var/backups"\nmin_interval_hours = 0\n\n` +
              `[sources.web]\ntype = "${kind}"\n${where}\napp_dir = "${base}/${name}-app"\n`,
          );
          return file;
        };
        const agent = await config("agent");
        await publish(release("1.0.0"), '"v1"');
        const first = await runShip(["--config", agent]);
        expect(first.code, first.stderr).toBe(0);

        const under: RawEntry =
          type === "File"
            ? { path: "myapp-2.0.0/x/d/f", body: "under a file\n" }
            : type === "SymbolicLink"
              ? { path: "myapp-2.0.0/x/d/f", type, linkpath: "../y" }
              : { path: "myapp-2.0.0/x/d/f/", type };
        await publish(release("2.0.0", [under]), '"v2"');
        const fresh = await runShip(["--config", await config("fresh")]);
        expect(fresh.code, fresh.stderr).toBe(2);
        expect(fresh.stderr).toContain("not a directory (ENOTDIR)");

        const update = await runShip(["--config", agent]);
        expect(update.code, update.stderr).toBe(2);
        expect(update.stderr).toContain("myapp-2.0.0/x/d/f");
        expect(update.stderr).toContain("not a directory (ENOTDIR)");
        expect(await readFile(join(base, "agent-app/x/d"), "utf8")).toBe("a file\n");
      });
    }
  }
});
