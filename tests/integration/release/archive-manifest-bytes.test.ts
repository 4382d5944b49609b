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
import { dirname, join } from "node:path";
import { Pax } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { buildTar, type RawEntry, writeArchive } from "../../unit/sources/tar-builder.js";
import { localArchiveApp } from "../cli/signed-archive.js";
import { signingKeyForBlock, unreachableHub } from "./manifest-release-repo.js";

const BYTES: [string, Buffer][] = [
  ["a comment saved as Latin-1", Buffer.from('version: "0.1.0"\n# r\xe9sum\xe9 of the release\n', "latin1")],
  ["a NUL byte", Buffer.from('version: "0.1.0"\n# a\u0000b\n', "utf8")],
  ["UTF-16 text", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('version: "0.1.0"\n', "utf16le")])],
];

describe("ship release sign/publish: the manifest inside an archive another tool built", () => {
  let dir: string;
  let key: string;
  /** The public half of `key`, which a [trust] agent's key_files names. */
  let publicKey: string;
  // One key for the file (a keygen per test was a `ship` start each): signing only reads it.
  const signing = signingKeyForBlock("ship-archive-bytes-keys-");
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-archive-bytes-"));
    key = signing.key;
    publicKey = join(dirname(key), "ship-release.pub");
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
    const trust = `\n[trust]\nkey_files = ["${publicKey}"]\n`;
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

  /**
   * Sign/publish and the agents' extraction read an archive's manifest by one rule (manifest-place.ts).
   * Before: `a/update-manifest.yaml` beside `b/` was signed, and agents (which strip only a single
   * top directory) found no manifest; a manifest packed twice was refused by sign and installed by
   * agents as its later copy. Each shape below is signed and installed (or refused by both, exit 2).
   */

  /**
   * Signs `archive`, then a [trust] agent installs it: both succeed, or both refuse with `reason`
   * (the agent with `agentSays` when its extraction refuses an entry before the manifest is sought).
   */
  async function signAndInstall(archive: string, reason?: string, agentSays = reason): Promise<void> {
    const signed = await runShip(["release", "sign", archive, "--key", key, "--app", "web"]);
    const trust = `\n[trust]\nkey_files = ["${publicKey}"]\n`;
    const { config, app } = await localArchiveApp(join(dir, "agent"), archive, trust);
    const run = await runShip(["--config", config]);
    if (reason === undefined) {
      expect(signed.code, signed.stderr).toBe(0);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(await readFile(join(app, "app.py"), "utf8")).toBe("print(1)\n");
      return;
    }
    expect(signed.stderr).toBe(`ship release sign: ${archive} ${reason}\n`);
    expect(signed.code).toBe(2);
    expect(existsSync(`${archive}.sig`)).toBe(false);
    expect(run.stderr + run.stdout).toContain(agentSays);
    expect(run.code).toBe(2);
    expect(existsSync(join(app, "app.py"))).toBe(false);
  }

  const manifest = 'version: "0.1.0"\n';
  /** `dir`/src holding the manifest at `manifestAt` and app.py at `appAt`, packed by GNU tar into `name`. */
  async function gnuTar(name: string, manifestAt: string, appAt: string, args: string[]): Promise<string> {
    const src = join(dir, "src");
    const files: [string, string][] = [
      [manifestAt, manifest],
      [appAt, "print(1)\n"],
    ];
    for (const [at, body] of files) {
      await mkdir(dirname(join(src, at)), { recursive: true });
      await writeFile(join(src, at), body);
    }
    const archive = join(dir, name);
    execFileSync("tar", ["-cf", archive, "-C", src, ...args]);
    return archive;
  }

  it("a manifest under one of two top-level directories (GNU tar): refused by both", async () => {
    const archive = await gnuTar("two-tops.tar", "a/update-manifest.yaml", "b/app.py", ["a", "b"]);
    await signAndInstall(
      archive,
      "holds a/update-manifest.yaml but 2 top-level names (a, b): agents read the manifest at the root, or under the single top-level directory; pack one directory, or the manifest at the root",
    );
  });

  it("a manifest packed twice (GNU tar --append): refused by both", async () => {
    const archive = await gnuTar("twice.tar", "update-manifest.yaml", "app.py", [
      "update-manifest.yaml",
      "app.py",
    ]);
    await writeFile(join(dir, "src", "update-manifest.yaml"), 'version: "0.2.0"\n');
    execFileSync("tar", ["-rf", archive, "-C", join(dir, "src"), "update-manifest.yaml"]);
    await signAndInstall(
      archive,
      "packs update-manifest.yaml 2 times: agents would install the last copy, so which one is the release is unclear; pack it once",
    );
  });

  const twice = (path: string) =>
    `packs ${path} 2 times: agents would install the last copy, so which one is the release is unclear; pack it once`;
  it.each([
    [
      "once bare, once under ./",
      [file("update-manifest.yaml", manifest), file("./update-manifest.yaml", manifest)],
      twice("update-manifest.yaml"),
    ],
    [
      "as a file and as a directory update-manifest.yaml/",
      [file("update-manifest.yaml", manifest), { path: "update-manifest.yaml/", type: "Directory" }],
      twice("update-manifest.yaml"),
    ],
    [
      "under the top directory, spelt with // the second time",
      [
        file("myapp/update-manifest.yaml", manifest),
        file("myapp//update-manifest.yaml", manifest),
        file("myapp/app.py", "print(1)\n"),
      ],
      twice("myapp/update-manifest.yaml"),
    ],
  ] as [string, RawEntry[], string][])(
    "a manifest %s (node-tar): refused by both",
    async (_what, entries, reason) => {
      const withApp = entries.some((e) => e.path.endsWith("app.py"))
        ? entries
        : [...entries, file("app.py", "print(1)\n")];
      await signAndInstall(await writeArchive(dir, "odd.tar", withApp), reason);
    },
  );

  it("a manifest under a top-level name that is a symbolic link (node-tar): refused by both", async () => {
    const archive = await writeArchive(dir, "top-link.tar", [
      { path: "myapp", type: "SymbolicLink", linkpath: "real" },
      file("myapp/update-manifest.yaml", manifest),
      file("myapp/app.py", "print(1)\n"),
    ]);
    await signAndInstall(
      archive,
      "holds myapp/update-manifest.yaml but myapp is packed as a symbolic link, not a directory: agents strip only a top-level directory",
      'entry "myapp/update-manifest.yaml": goes through the symlink myapp',
    );
  });

  it("a manifest under ./myapp-0.1.0/ (GNU tar -C dir ./myapp-0.1.0): signed and installed", async () => {
    const archive = await gnuTar("dot.tar", "myapp-0.1.0/update-manifest.yaml", "myapp-0.1.0/app.py", [
      "./myapp-0.1.0",
    ]);
    await signAndInstall(archive);
  });

  it("a manifest at the root beside a/update-manifest.yaml: the root one, by both", async () => {
    const archive = await writeArchive(dir, "root-and-a.tar", [
      file("update-manifest.yaml", manifest),
      file("a/update-manifest.yaml", "not: [a manifest\n"),
      file("app.py", "print(1)\n"),
    ]);
    await signAndInstall(archive);
  });

  it("an entry a pax header renames to update-manifest.yaml: read as the manifest by both", async () => {
    const pax = new Pax({ path: "update-manifest.yaml" }).encode();
    const rest = buildTar([file("other.yaml", manifest), file("app.py", "print(1)\n")]);
    const archive = join(dir, "pax.tar");
    await writeFile(archive, Buffer.concat([pax, rest]));
    await signAndInstall(archive);
  });
});
