/**
 * An sftp remote_path that is a `latest` link to the versioned archive, with no checksum configured:
 * the agent reads `<remote_path>.sha256` (and, with [trust] keys, `<remote_path>.sig`) when the
 * server has one. `sha256sum` and `ship release sign` write theirs beside the versioned archive
 * (myapp-1.0.0.tar.gz.sha256, .sig), never beside the link, and only the link's name was tried: the
 * release went in unverified (a wrong .sha256 beside it was never read, exit 0), and a signed one
 * was refused as unsigned. The file beside each file the link leads through is now read, as a local
 * path or an http redirect chain is followed for its names. A real sshd, real `ship` runs.
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

const archive = gzipSync(appRelease("1.0.0"));
const sha256 = createHash("sha256").update(archive).digest("hex");

describe.skipIf(!hasProgram("sshd"))("companions beside a latest link's target (real sshd)", () => {
  let root: string;
  let sshd: SshdServer;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-link-companions-"));
    sshd = await startSshd(join(root, "sshd"));
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(root, { recursive: true, force: true });
  });

  /** releases/ under `name` with myapp-1.0.0.tar.gz, its `.sha256` saying `listed`, and myapp-latest.tar.gz → it. */
  async function layout(name: string, listed: string, after = ""): Promise<{ config: string; app: string }> {
    const at = join(root, name, "releases");
    await mkdir(at, { recursive: true });
    await mkdir(join(root, name, "app"));
    await writeFile(join(at, "myapp-1.0.0.tar.gz"), archive);
    await writeFile(join(at, "myapp-1.0.0.tar.gz.sha256"), `${listed}  myapp-1.0.0.tar.gz\n`);
    await symlink("myapp-1.0.0.tar.gz", join(at, "myapp-latest.tar.gz"));
    const config = join(root, name, "ship.toml");
    await writeFile(
      config,
      sftpShipToml(sshd, { root: join(root, name), remotePath: join(at, "myapp-latest.tar.gz"), after }),
    );
    return { config, app: join(root, name, "app") };
  }

  it("a wrong .sha256 beside the target is a checksum mismatch: exit 2, nothing installed", async () => {
    const { config, app } = await layout("wrong", "0".repeat(64));
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain(`checksum mismatch: expected sha256 ${"0".repeat(64)}, got ${sha256}`);
    expect(run.stdout).toContain("myapp-1.0.0.tar.gz.sha256");
    expect(await readdir(app)).toEqual([]);
  });

  it("a right one installs", async () => {
    const { config, app } = await layout("right", sha256);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.0.0\n");
  });

  /** layout(`name`) trusting a fresh key, myapp-1.0.0.tar.gz signed by real `ship release sign`. */
  async function signedLayout(name: string): Promise<{ config: string; app: string; versioned: string }> {
    const keys = join(root, name, "keys");
    expect((await runShip(["release", "keygen", "--out", keys])).code).toBe(0);
    const laid = await layout(name, sha256, `[trust]\nkey_files = ["${keys}/ship-release.pub"]\n`);
    const versioned = join(root, name, "releases", "myapp-1.0.0.tar.gz");
    const signed = await runShip(["release", "sign", versioned, "--key", join(keys, "ship-release.key")]);
    expect(signed.code, signed.stderr).toBe(0);
    return { ...laid, versioned };
  }

  it("with [trust] keys, the .sig ship release sign wrote beside the target is verified and installs", async () => {
    const { config, app } = await signedLayout("signed");
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.0.0\n");
  });

  it("a .sig saved as UTF-16 with its byte-order mark (PowerShell's '>') is read as the text it holds", async () => {
    const { config, app, versioned } = await signedLayout("utf16");
    const text = (await readFile(`${versioned}.sig`, "utf8")).replace(/\n/g, "\r\n");
    await writeFile(
      `${versioned}.sig`,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]),
    );
    const run = await runShip(["--config", config]);
    const said = run.stdout + run.stderr;
    expect(said).not.toContain("not JSON");
    expect(run.code, said).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.0.0\n");
  });
});
