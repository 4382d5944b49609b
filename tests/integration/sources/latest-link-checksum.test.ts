/**
 * A stable `myapp-latest.tar.gz` that is a symlink to the versioned archive (the seed's SFTP layout,
 * and a local release directory kept the same way), verified by a `SHA256SUMS` that lists releases
 * by their versioned names. ship matched only the link's own name: exit 2 "no sha256 for
 * myapp-latest.tar.gz in the checksum file; it lists …, myapp-1.0.0.tar.gz". The name of the file
 * the link leads to is matched too, and of each file on the way when that is a link too (into a
 * content store): a right line installs, a wrong one is a checksum mismatch with the app untouched.
 * A real sshd and real `ship` runs.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-latest-link-sum-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * releases/<dir>/ with myapp-1.0.0.tar.gz, myapp-latest.tar.gz → it, and a SHA256SUMS whose line
 * for it says `listed` (its sha256 unless given); the link's path and the sums' path. `chained`:
 * myapp-1.0.0.tar.gz is itself a link, into a content store (`../store/<sha256>`), as a
 * deploy tool that keeps each blob once lays it out.
 */
async function releases(
  dir: string,
  listed?: string,
  chained = false,
): Promise<{ latest: string; sums: string; sha256: string }> {
  const at = join(root, "releases", dir);
  await mkdir(at, { recursive: true });
  const archive = gzipSync(appRelease("1.0.0"));
  if (chained) {
    await mkdir(join(root, "releases", "store"), { recursive: true });
    await writeFile(join(root, "releases", "store", sha(archive)), archive);
    await symlink(`../store/${sha(archive)}`, join(at, "myapp-1.0.0.tar.gz"));
  } else await writeFile(join(at, "myapp-1.0.0.tar.gz"), archive);
  await symlink("myapp-1.0.0.tar.gz", join(at, "myapp-latest.tar.gz"));
  const lines = [`${sha("old")}  myapp-0.9.0.tar.gz`, `${listed ?? sha(archive)}  myapp-1.0.0.tar.gz`];
  await writeFile(join(at, "SHA256SUMS"), `${lines.join("\n")}\n`);
  return { latest: join(at, "myapp-latest.tar.gz"), sums: join(at, "SHA256SUMS"), sha256: sha(archive) };
}

async function appDir(dir: string): Promise<string> {
  const app = join(root, dir, "app");
  await mkdir(app, { recursive: true });
  return app;
}

type Run = (
  name: string,
  listed?: string,
  chained?: boolean,
) => Promise<{ app: string; sha256: string; result: Awaited<ReturnType<typeof runShip>> }>;

/** The same four cases for a local path and an sftp remote_path: `run` makes and runs one. */
function linkCases(prefix: string, run: Run): void {
  it("is verified by the line for the file the link leads to", async () => {
    const { app, result } = await run(`${prefix}-right`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("installed 1.0.0");
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.0.0\n");
  });

  it("a wrong line for it is a checksum mismatch: exit 2, nothing installed", async () => {
    const { app, sha256, result } = await run(`${prefix}-wrong`, "0".repeat(64));
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stdout).toContain(`checksum mismatch: expected sha256 ${"0".repeat(64)}, got ${sha256}`);
    expect(await readdir(app)).toEqual([]);
  });

  // Only the last file's name (the store's blob) was matched: exit 2 "no sha256 for
  // myapp-latest.tar.gz or <sha256> … it lists …, myapp-1.0.0.tar.gz".
  it("a link through the versioned name into a store is verified by that name's line", async () => {
    const { app, result } = await run(`${prefix}-chain`, undefined, true);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("installed 1.0.0");
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.0.0\n");
  });

  it("a wrong line for that name is a checksum mismatch: exit 2, nothing installed", async () => {
    const { app, sha256, result } = await run(`${prefix}-chain-wrong`, "0".repeat(64), true);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stdout).toContain(`checksum mismatch: expected sha256 ${"0".repeat(64)}, got ${sha256}`);
    expect(await readdir(app)).toEqual([]);
  });
}

describe("a local archive path that is a latest link, with SHA256SUMS", () => {
  const run = async (name: string, listed?: string, chained = false) => {
    const { latest, sums, sha256 } = await releases(name, listed, chained);
    const app = await appDir(name);
    const config = join(root, name, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/${name}/state.json"\nbackup_dir = "${root}/${name}/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.myapp]\ntype = "local"\npath = "${latest}"\napp_dir = "${app}"\nchecksum = "${sums}"\n`,
    );
    return { app, sha256, result: await runShip(["--config", config]) };
  };

  linkCases("local", run);
});

describe.skipIf(!hasProgram("sshd"))(
  "an sftp remote_path that is a latest link, with SHA256SUMS (real sshd)",
  () => {
    let sshd: SshdServer;
    beforeAll(async () => {
      sshd = await startSshd(join(root, "sshd"));
    });
    afterAll(async () => {
      await sshd?.close();
    });

    const run = async (name: string, listed?: string, chained = false) => {
      const { latest, sums, sha256 } = await releases(name, listed, chained);
      const app = await appDir(name);
      const config = join(root, name, "ship.toml");
      const sourceKeys = `checksum = "${sums}"\n`;
      await writeFile(config, sftpShipToml(sshd, { root: join(root, name), remotePath: latest, sourceKeys }));
      return { app, sha256, result: await runShip(["--config", config]) };
    };

    linkCases("sftp", run);
  },
);
