/**
 * An archive release updates as an operator runs it, from a local .tar.gz and from a real HTTP
 * server: the archive is read whole, but files the app already holds are not written to staging;
 * the result is byte for byte a full install; and an installed file edited in place (size and mtime
 * put back) is still written and installed.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unverifiedPaths } from "../../support/install-index-of.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar, type RawEntry } from "../../unit/sources/tar-builder.js";

const FILES = 30;
const routes = new Map<string, { body: Buffer; etag?: string }>();
const server = fileServerForFile(routes);

/** A release packed the way CI packs one: a top directory holding the manifest. */
function release(version: string, bodies: Record<string, string> = {}): Buffer {
  const entries: RawEntry[] = [
    { path: `myapp-${version}/`, type: "Directory" },
    { path: `myapp-${version}/update-manifest.yaml`, body: `version: "${version}"\n` },
    { path: `myapp-${version}/bin/run.sh`, body: "#!/bin/sh\necho run\n", mode: 0o755 },
  ];
  for (let i = 0; i < FILES; i++) {
    const rel = `lib/m${i}.py`;
    entries.push({ path: `myapp-${version}/${rel}`, body: bodies[rel] ?? `print(${i})  # v1\n` });
  }
  return gzipSync(buildTar(entries));
}

/** Every file under `root` by content and mode, every directory by mode. */
async function treeOf(root: string, rel = "", out = new Map<string, string>()): Promise<Map<string, string>> {
  for (const name of (await readdir(join(root, rel))).sort()) {
    const child = rel === "" ? name : `${rel}/${name}`;
    const st = await lstat(join(root, child));
    if (st.isDirectory()) {
      out.set(child, `dir ${(st.mode & 0o777).toString(8)}`);
      await treeOf(root, child, out);
    } else {
      const sha = createHash("sha256")
        .update(await readFile(join(root, child)))
        .digest("hex");
      out.set(child, `file ${(st.mode & 0o777).toString(8)} ${sha}`);
    }
  }
  return out;
}

/** The counters of the source's "extracted" log line. */
function extractedLine(stderr: string): { files: number; unchanged: number } {
  const line = stderr.split("\n").find((l) => /"msg":"(downloaded and )?extracted/.test(l));
  if (line === undefined) throw new Error(`no extraction logged:\n${stderr}`);
  return JSON.parse(line) as { files: number; unchanged: number };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

describe("archive releases through the `ship` CLI stage only what changed", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-archive-cli-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  for (const kind of ["local", "http"] as const) {
    it(`${kind}: writes only changed entries, installs what a full install gives, and catches an edit in place`, async () => {
      const base = join(root, kind);
      await mkdir(base);
      const archive = join(base, "release.tar.gz");
      let published = 0;
      const publish = async (body: Buffer) => {
        await writeFile(archive, body);
        routes.set(`/${kind}/release.tar.gz`, { body, etag: `"v${++published}"` });
      };
      const config = async (name: string) => {
        const file = join(base, `${name}.toml`);
        const where =
          kind === "local" ? `path = "${archive}"` : `url = "${server.url}/${kind}/release.tar.gz"`;
        await writeFile(
          file,
          `[general]\nstate_file = "${base}/${name}-var/state.json"\nbackup_dir = "${base}/${name}-var/backups"\nmin_interval_hours = 0\n\n` +
            `[sources.web]\ntype = "${kind}"\n${where}\napp_dir = "${base}/${name}-app"\n`,
        );
        return file;
      };
      const agent = await config("agent");
      const app = join(base, "agent-app");
      const staging = join(base, "agent-var/work/web.staging");

      await publish(release("1.0.0"));
      const first = await runShip(["--config", agent]);
      expect(first.code, first.stderr).toBe(0);
      expect(extractedLine(first.stderr)).toMatchObject({ files: FILES + 2, unchanged: 0 });

      // One file changes. Stopped right after staging (journal written): only it and the manifest
      // were written there. The next run undoes the half-done update and completes it.
      const v2 = { "lib/m7.py": "print(7)  # v2\n" };
      await publish(release("2.0.0", v2));
      const killed = await runShip(["--config", agent], { env: { SHIP_FAULT: "apply:journal-written" } });
      expect(killed.code).toBeNull();
      expect((await filesUnder(staging)).sort()).toEqual(["lib/m7.py", "update-manifest.yaml"]);
      const second = await runShip(["--config", agent]);
      expect(second.code, second.stderr).toBe(0);
      expect(extractedLine(second.stderr)).toMatchObject({ files: FILES + 2, unchanged: FILES });
      expect(await readFile(join(app, "lib/m7.py"), "utf8")).toBe(v2["lib/m7.py"]);

      // Byte for byte (and mode for mode) what a fresh full install of 2.0.0 gives.
      const fresh = await runShip(["--config", await config("fresh")]);
      expect(fresh.code, fresh.stderr).toBe(0);
      expect(extractedLine(fresh.stderr)).toMatchObject({ unchanged: 0 });
      expect(await treeOf(app)).toEqual(await treeOf(join(base, "fresh-app")));

      // lib/m3.py edited in place with its size and mtime put back: the install index must not
      // vouch for it, so the release's copy is written and installed again.
      const edited = join(app, "lib/m3.py");
      const before = await stat(edited);
      const ref = join(base, "mtime-ref");
      await writeFile(ref, "");
      execFileSync("touch", ["-r", edited, ref]);
      await writeFile(edited, "print(X)  # v1\n");
      execFileSync("touch", ["-r", ref, edited]);
      const after = await stat(edited);
      expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
      await publish(release("3.0.0", { ...v2, "lib/m9.py": "print(9)  # v3\n" }));
      // lib/m7.py, as the last update wrote it, is written again too when its stamp had not settled
      // (the update recorded it within the racy window rather than wait: finalize-update.ts).
      const unsettled = await unverifiedPaths(join(base, "agent-var"), ["lib/m7.py"]);
      const third = await runShip(["--config", agent]);
      expect(third.code, third.stderr).toBe(0);
      expect(extractedLine(third.stderr)).toMatchObject({ unchanged: FILES - 1 - unsettled.length });
      expect(await readFile(edited, "utf8")).toBe("print(3)  # v1\n");
      expect(await readFile(join(app, "lib/m9.py"), "utf8")).toBe("print(9)  # v3\n");
    });
  }
});
