import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { hashTree } from "../pipeline/harness.js";

/**
 * A release packed with `tar --sparse` (a disk image, a preallocated database file): node-tar reads
 * past a GNU sparse entry without a word, so the file was missing from the app, and hands a pax
 * sparse file over as its data blocks under a made-up name, so `GNUSparseFile.123/data.img` was
 * installed, exit 0. An entry of a type letter tar does not define, and an extended header over
 * 1 MiB (whose long name was lost), were read past as well. Each is refused now, exit 2 naming the
 * archive and the entry, nothing installed.
 */
describe("a release archive holding entries node-tar reads past or misreads", () => {
  let root: string;
  let appDir: string;

  /** Release `name`: app.py of `text` and, when `sparse`, a 3 MiB data.img that is mostly a hole. */
  async function release(name: string, text: string, sparse: boolean): Promise<string> {
    const dir = join(root, "releases", name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "update-manifest.yaml"), `version: "${name}"\n`);
    await writeFile(join(dir, "app.py"), text);
    if (sparse) {
      const image = await open(join(dir, "data.img"), "w");
      await image.write("HEAD", 0);
      await image.write("TAIL", 3 << 20);
      await image.close();
    }
    return dir;
  }

  function pack(dir: string, archive: string, format: string[]): string {
    execFileSync("tar", [...format, "-czf", archive, "-C", dir, "."]);
    return archive;
  }

  async function run(archive: string): Promise<{ code: number | null; out: string }> {
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      [
        "[general]",
        `state_file = "${join(root, "var", "state.json")}"`,
        `backup_dir = "${join(root, "var", "backups")}"`,
        `work_dir = "${join(root, "work")}"`,
        `lock_file = "${join(root, "var", "lock")}"`,
        "[sources.web]",
        'type = "local"',
        `app_dir = "${appDir}"`,
        `path = "${archive}"`,
        "",
      ].join("\n"),
    );
    const result = await runShip(["--config", config, "--force"]);
    return { code: result.code, out: result.stdout + result.stderr };
  }

  /** A pax archive at `path` of a 3.0.0 manifest and what `add(name, data, pax=, type=)` calls add. */
  function pythonTar(path: string, adds: string): void {
    const script = [
      "import io, sys, tarfile",
      "t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)",
      "def add(name, data, pax={}, type=tarfile.REGTYPE):",
      "    i = tarfile.TarInfo(name); i.size = len(data); i.pax_headers = pax; i.type = type",
      "    t.addfile(i, io.BytesIO(data))",
      "add('update-manifest.yaml', b'version: \"3.0.0\"\\n')",
      adds,
      "t.close()",
    ].join("\n");
    execFileSync("python3", ["-c", script, path]);
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-unread-"));
    appDir = join(root, "app");
    await mkdir(appDir);
    const v1 = pack(await release("1.0.0", "print(1)\n", false), join(root, "v1.tar.gz"), []);
    expect((await run(v1)).code).toBe(0);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ["GNU format (type S, which node-tar reads past)", ["--format=gnu", "--sparse"]],
    ["pax format 1.0 (GNUSparseFile.N/ name)", ["--format=posix", "--sparse", "--sparse-version=1.0"]],
    ["pax format 0.1", ["--format=posix", "--sparse", "--sparse-version=0.1"]],
    ["pax format 0.0", ["--format=posix", "--sparse", "--sparse-version=0.0"]],
  ])("in %s is refused, exit 2, the app untouched", async (_, format) => {
    const before = await hashTree(appDir);
    const dir = await release("2.0.0", "print(2)\n", true);
    const archive = pack(dir, join(root, `v2-${format.join("")}.tar.gz`), format);
    const { code, out } = await run(archive);
    expect(code).toBe(2);
    expect(out).toMatch(/entry "(\.\/)?data\.img": is a sparse file \(packed by tar --sparse/);
    expect(out).toContain(archive);
    expect(await hashTree(appDir)).toEqual(before);
    await rm(dir, { recursive: true });
  });

  // node-tar reads past an extended header over 1 MiB: the long name it gave was lost, and the
  // file was installed under the header block's 100 bytes of it.
  it("with an extended header over 1 MiB is refused, exit 2, the app untouched", async () => {
    const before = await hashTree(appDir);
    const archive = join(root, "big-header.tar");
    pythonTar(archive, "add('src/' + 'n' * 120 + '.py', b'print(3)\\n', pax={'comment': 'x' * (1 << 20)})");
    const { code, out } = await run(archive);
    expect(code).toBe(2);
    expect(out).toMatch(/: is an extended header of \d+ bytes, more than ship reads \(1 MiB\)/);
    expect(await hashTree(appDir)).toEqual(before);
  });

  // GNU tar extracts an entry of a type letter it does not know as a file; node-tar read it past.
  it("with an entry of a type tar does not define is refused, exit 2, the app untouched", async () => {
    const before = await hashTree(appDir);
    const archive = join(root, "unknown-type.tar");
    pythonTar(archive, "add('bin/tool', b'#!/bin/sh\\n', type=b'Q')");
    const { code, out } = await run(archive);
    expect(code).toBe(2);
    expect(out).toContain(`unknown-type.tar: entry "bin/tool": has an entry type tar does not define`);
    expect(await hashTree(appDir)).toEqual(before);
  });
});
