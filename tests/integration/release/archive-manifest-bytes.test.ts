/**
 * `ship release sign ARTIFACT` and `publish --artifact ARTIFACT` read the manifest from inside an
 * archive CI packed with its own tar. They read it as UTF-8 unchecked: a Latin-1 byte was signed
 * (and published) as U+FFFD, where `--manifest FILE` and `ship --test-manifest` refuse it, exit 2.
 * They now refuse it in --test-manifest's words, naming ARCHIVE!update-manifest.yaml; one too large
 * to read was reported as missing ("has no update-manifest.yaml") and is named as too large.
 * Real `ship` runs, archives made by GNU tar.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type RawEntry, writeArchive } from "../../unit/sources/tar-builder.js";
import { localArchiveApp } from "../cli/signed-archive.js";
import { unreachableHub } from "./manifest-release-repo.js";

const BYTES: [string, Buffer][] = [
  ["a comment saved as Latin-1", Buffer.from('version: "0.1.0"\n# r\xe9sum\xe9 of the release\n', "latin1")],
  ["a NUL byte", Buffer.from('version: "0.1.0"\n# a\u0000b\n', "utf8")],
  ["UTF-16 text", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('version: "0.1.0"\n', "utf16le")])],
];

describe("ship release sign/publish: the manifest inside an archive another tool built", () => {
  let dir: string;
  let key: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-archive-bytes-"));
    expect((await runShip(["release", "keygen", "--out", join(dir, "keys")])).code).toBe(0);
    key = join(dir, "keys", "ship-release.key");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** myapp-0.1.0.tar.gz holding myapp-0.1.0/update-manifest.yaml with `manifest` and an app file. */
  async function archiveHolding(manifest: Buffer): Promise<{ archive: string; file: string }> {
    const top = join(dir, "myapp-0.1.0");
    await mkdir(top, { recursive: true });
    const file = join(top, "update-manifest.yaml");
    await writeFile(file, manifest);
    await writeFile(join(top, "app.py"), "print(1)\n");
    const archive = join(dir, "myapp-0.1.0.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", dir, "myapp-0.1.0"]);
    return { archive, file };
  }

  async function expectSignAndPublishSay(archive: string, said: string): Promise<void> {
    const signed = await runShip(["release", "sign", archive, "--key", key]);
    expect(signed.stderr).toBe(`ship release sign: ${said}\n`);
    expect(signed.code).toBe(2);
    expect(existsSync(`${archive}.sig`)).toBe(false);

    // Refused before the hub is asked: nothing listens on port 9.
    const published = await runShip([
      "release",
      "publish",
      ...(await unreachableHub(dir)),
      "--artifact",
      archive,
    ]);
    expect(published.stderr).toBe(`ship release publish: ${said}\n`);
    expect(published.code).toBe(2);
  }

  it.each(BYTES)("with %s: refused as --test-manifest refuses it, nothing signed", async (_what, bytes) => {
    const { archive, file } = await archiveHolding(bytes);
    const checked = await runShip(["--test-manifest", file]);
    expect(checked.code).toBe(2);
    const said = checked.stderr.replace(/^ship: /, "").replace(/\n$/, "");
    expect(said.startsWith(file)).toBe(true);
    await expectSignAndPublishSay(archive, `${archive}!update-manifest.yaml${said.slice(file.length)}`);
  });

  it("a manifest too large to read is named as such, not as missing", async () => {
    const big = Buffer.from(`version: "0.1.0"\n${"# padding\n".repeat(120_000)}`);
    const { archive } = await archiveHolding(big);
    await expectSignAndPublishSay(
      archive,
      `${archive}!update-manifest.yaml is 1.14 MiB (1200017 bytes), larger than 1 MiB (1048576 bytes), the most ship reads of a manifest`,
    );
  });

  /** myapp-0.1.0.tar.gz by GNU tar, whose manifest is `kind` (meta/m.yaml packed first, holding the text). */
  async function archiveWithManifest(kind: "symlink" | "hardlink" | "directory"): Promise<string> {
    const top = join(dir, "myapp-0.1.0");
    await mkdir(join(top, "meta"), { recursive: true });
    await writeFile(join(top, "meta", "m.yaml"), 'version: "0.1.0"\n');
    await writeFile(join(top, "app.py"), "print(1)\n");
    const manifest = join(top, "update-manifest.yaml");
    if (kind === "symlink") await symlink("meta/m.yaml", manifest);
    else if (kind === "hardlink") await link(join(top, "meta", "m.yaml"), manifest);
    else await mkdir(manifest);
    const archive = join(dir, "myapp-0.1.0.tar.gz");
    // The linked file first: GNU tar writes the second name of a file as a hard link to the first.
    execFileSync("tar", [
      "-czf",
      archive,
      "-C",
      dir,
      "myapp-0.1.0/meta/m.yaml",
      "myapp-0.1.0/update-manifest.yaml",
      "myapp-0.1.0/app.py",
    ]);
    return archive;
  }

  // A manifest that is a link or a directory in the archive was left out of the read and reported
  // as missing: "has no update-manifest.yaml; pass --manifest FILE", with the name right there.
  // (A hard link is what agents extract as the file it links to: see below.)
  it.each([
    ["a symbolic link", "symlink", "a symbolic link to meta/m.yaml"],
    ["a directory", "directory", "a directory"],
  ] as const)("a manifest that is %s is named as what it is, nothing signed", async (_what, kind, words) => {
    const archive = await archiveWithManifest(kind);
    await expectSignAndPublishSay(
      archive,
      `${archive}!update-manifest.yaml is ${words}, not a file: sign and publish read the manifest as a file in the archive; pack the file in its place (GNU tar: -h follows links) or pass --manifest FILE`,
    );
  });

  /** `ship ARCHIVE` installed by an agent (a local archive source, no [trust]): its exit code. */
  async function installedBy(archive: string, name: string): Promise<number | null> {
    const { config } = await localArchiveApp(join(dir, name), archive, "");
    return (await runShip(["--config", config])).code;
  }

  // GNU tar packs a second name of one file as a hard link, and agents extract it as that file
  // (the release installed), while sign and publish refused it: "is a hard link …, not a file".
  it("a manifest that is a hard link (GNU tar) is signed as the file agents extract; a [trust] agent installs it", async () => {
    const archive = await archiveWithManifest("hardlink");
    const signed = await runShip(["release", "sign", archive, "--key", key, "--app", "web"]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(existsSync(`${archive}.sig`)).toBe(true);
    const trust = `\n[trust]\nkey_files = ["${join(dir, "keys", "ship-release.pub")}"]\n`;
    const { config, app } = await localArchiveApp(join(dir, "trusting"), archive, trust);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app, "app.py"), "utf8")).toBe("print(1)\n");
  });

  const file = (path: string, body: string): RawEntry => ({ path, body });
  const hardLink = (path: string, to: string): RawEntry => ({ path, type: "Link", linkpath: to });
  const manifestText = 'version: "0.1.0"\n';
  it.each([
    [
      "a hard link to a hard link to the file",
      [
        file("meta/m.yaml", manifestText),
        hardLink("x.yaml", "meta/m.yaml"),
        hardLink("update-manifest.yaml", "x.yaml"),
      ],
      undefined,
    ],
    [
      "a hard link to a file packed after it",
      [hardLink("update-manifest.yaml", "meta/m.yaml"), file("meta/m.yaml", manifestText)],
      "a hard link to meta/m.yaml that agents cannot extract (no file meta/m.yaml is packed before it)",
    ],
    [
      "a hard link to a symbolic link",
      [
        file("meta/m.yaml", manifestText),
        { path: "s.yaml", type: "SymbolicLink", linkpath: "meta/m.yaml" },
        hardLink("update-manifest.yaml", "s.yaml"),
      ],
      "a hard link to s.yaml that agents cannot extract (s.yaml is a symbolic link to meta/m.yaml)",
    ],
  ] as [string, RawEntry[], string | undefined][])(
    "a manifest that is %s: sign and publish agree with agents",
    async (_what, entries, refused) => {
      const archive = await writeArchive(dir, "myapp-0.1.0.tar", [...entries, file("app.py", "print(1)\n")]);
      const installed = await installedBy(archive, "agent");
      if (refused === undefined) {
        expect(installed).toBe(0);
        const signed = await runShip(["release", "sign", archive, "--key", key, "--app", "myapp"]);
        expect(signed.code, signed.stderr).toBe(0);
        return;
      }
      expect(installed).toBe(2);
      await expectSignAndPublishSay(
        archive,
        `${archive}!update-manifest.yaml is ${refused}, not a file: sign and publish read the manifest as a file in the archive; pack the file in its place (GNU tar: -h follows links) or pass --manifest FILE`,
      );
    },
  );
});
