/**
 * `ship release sign` and `publish --artifact` read an archive's entries as tar lists them: one an
 * agent refuses (a sparse file, an unknown type, `..`, a hard link or symlink out of the release, a
 * file where a directory was) was signed, exit 0, and published, for every agent to refuse it. Now
 * both refuse it in the agent's own words naming the entry, exit 2, nothing signed. Each case runs
 * a real local-source agent on the same archive for the words. Real `ship` runs, GNU tar, Python's
 * tarfile for a type letter no tool writes.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, watch } from "node:fs";
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceApp } from "../../support/http-app.js";
import { runShip, SHIP_BIN } from "../../support/ship-cli.js";
import { type RawEntry, writeArchive } from "../../unit/sources/tar-builder.js";
import { signingKeyForBlock, unreachableHub } from "./manifest-release-repo.js";

const MANIFEST: RawEntry = { path: "update-manifest.yaml", body: 'version: "0.1.0"\n' };

/** Each archive, made in its own directory as myapp-0.1.0.tar.gz (or .tar). */
const CASES: [what: string, make: (dir: string) => Promise<string>][] = [
  ["a GNU sparse file (type S)", (dir) => sparse(dir, ["--format=gnu"])],
  ["a pax sparse file", (dir) => sparse(dir, ["--format=posix", "--sparse-version=1.0"])],
  [
    "an entry of a type tar does not define",
    async (dir) => {
      const archive = join(dir, "myapp-0.1.0.tar");
      const script = [
        "import io, sys, tarfile",
        "t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)",
        "for name, data, kind in [('update-manifest.yaml', b'version: \"0.1.0\"\\n', tarfile.REGTYPE), ('bin/tool', b'#!/bin/sh\\n', b'Q')]:",
        "    i = tarfile.TarInfo(name); i.size = len(data); i.type = kind; t.addfile(i, io.BytesIO(data))",
        "t.close()",
      ].join("\n");
      execFileSync("python3", ["-c", script, archive]);
      return archive;
    },
  ],
  ["a path out of the release", (dir) => raw(dir, [{ path: "lib/../../etc/cron.d/x", body: "x\n" }])],
  [
    "a hard link out of the release",
    (dir) => raw(dir, [{ path: "passwd", type: "Link", linkpath: "../../etc/passwd" }]),
  ],
  [
    "a symlink out of the release",
    (dir) => raw(dir, [{ path: "logs", type: "SymbolicLink", linkpath: "../../var/log" }]),
  ],
  [
    "a file named as a directory before it",
    (dir) =>
      raw(dir, [
        { path: "conf", type: "Directory" },
        { path: "conf", body: "x\n" },
      ]),
  ],
];

async function raw(dir: string, entries: RawEntry[]): Promise<string> {
  return writeArchive(dir, "myapp-0.1.0.tar.gz", [MANIFEST, ...entries]);
}

/** A release with a 3 MiB data.img that is mostly a hole, packed by GNU tar --sparse in `format`. */
async function sparse(dir: string, format: string[]): Promise<string> {
  const tree = join(dir, "tree");
  await mkdir(tree);
  await writeFile(join(tree, "update-manifest.yaml"), 'version: "0.1.0"\n');
  const image = await open(join(tree, "data.img"), "w");
  await image.write("HEAD", 0);
  await image.write("TAIL", 3 << 20);
  await image.close();
  const archive = join(dir, "myapp-0.1.0.tar.gz");
  execFileSync("tar", [...format, "--sparse", "-czf", archive, "-C", tree, "."]);
  return archive;
}

describe("ship release sign/publish: an archive holding an entry agents refuse", () => {
  let root: string;
  const signing = signingKeyForBlock("ship-agents-refused-keys-");
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-agents-refused-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it.each(CASES)("%s: refused in the agent's words, exit 2, nothing signed", async (what, make) => {
    const dir = join(root, what.replaceAll(" ", "-"));
    await mkdir(dir);
    const archive = await make(dir);
    const { config } = await sourceApp(join(dir, "agent"), `type = "local"\npath = "${archive}"\n`);
    const [agent, signed, published] = await Promise.all([
      runShip(["--config", config]),
      runShip(["release", "sign", archive, "--key", signing.key]),
      unreachableHub(dir).then((hub) => runShip(["release", "publish", ...hub, "--artifact", archive])),
    ]);
    // The agent names the archive by its file name: `web: myapp-0.1.0.tar.gz: entry "…": reason`.
    expect(agent.code).toBe(2);
    const line = `${agent.stdout}${agent.stderr}`.split("\n").find((l) => l.startsWith("web: "));
    expect(line, agent.stderr).toContain(`web: ${basename(archive)}: entry "`);
    const said = `${dirname(archive)}/${line?.slice("web: ".length)}`;
    expect(signed.stderr).toBe(`ship release sign: ${said}\n`);
    expect(signed.code).toBe(2);
    expect(existsSync(`${archive}.sig`)).toBe(false);
    expect(published.stderr).toBe(`ship release publish: ${said}\n`);
    expect(published.code).toBe(2);
  });

  // Tar's end blocks alone (`tar -czf x.tar.gz -T /dev/null`) read "TAR_BAD_ARCHIVE: Unrecognized
  // archive format", for an archive nothing is wrong with but that nothing was packed into.
  it("an empty tar archive is named as one, as agents name it", async () => {
    const dir = join(root, "empty");
    await mkdir(dir);
    const archive = join(dir, "myapp-0.1.0.tar.gz");
    execFileSync("tar", ["-czf", archive, "-T", "/dev/null"]);
    const [signed, published] = await Promise.all([
      runShip(["release", "sign", archive, "--key", signing.key]),
      unreachableHub(dir).then((hub) => runShip(["release", "publish", ...hub, "--artifact", archive])),
    ]);
    const said = `${archive}: is an empty tar archive: no entries at all, not even update-manifest.yaml (packed from an empty directory or file list?)`;
    expect(signed.stderr).toBe(`ship release sign: ${said}\n`);
    expect(signed.code).toBe(2);
    expect(published.stderr).toBe(`ship release publish: ${said}\n`);
    expect(published.code).toBe(2);
  });

  it("an archive agents install is still signed", async () => {
    const dir = join(root, "good");
    await mkdir(dir);
    const archive = await raw(dir, [
      { path: "bin", type: "Directory" },
      { path: "bin/app", body: "#!/bin/sh\n", mode: 0o755 },
      { path: "current", type: "SymbolicLink", linkpath: "bin/app" },
      { path: "also-app", type: "Link", linkpath: "bin/app" },
    ]);
    const signed = await runShip(["release", "sign", archive, "--key", signing.key]);
    expect(signed.stderr).toBe("");
    expect(signed.code).toBe(0);
    expect(existsSync(`${archive}.sig`)).toBe(true);
  });

  // The check unpacks the release into $TMPDIR; a Ctrl-C (or SIGTERM) then ended the process with
  // what it had unpacked left there, one copy per stopped sign.
  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s mid-check: its scratch in $TMPDIR is removed, exit 128+signal, nothing signed",
    async (signal) => {
      const dir = join(root, `stopped-${signal}`);
      const tree = join(dir, "tree");
      const scratchParent = join(dir, "tmp");
      await mkdir(join(tree, "data"), { recursive: true });
      await mkdir(scratchParent);
      await writeFile(join(tree, "update-manifest.yaml"), 'version: "0.1.0"\n');
      // Many small files: the unpacking takes long enough to be stopped in.
      for (let i = 0; i < 3000; i++) await writeFile(join(tree, "data", `f${i}.txt`), `${i}\n`);
      const archive = join(dir, "myapp-0.1.0.tar.gz");
      execFileSync("tar", ["-czf", archive, "-C", tree, "."]);
      const child = spawn(process.execPath, [SHIP_BIN, "release", "sign", archive, "--key", signing.key], {
        env: { ...process.env, TMPDIR: scratchParent },
        stdio: "ignore",
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      // Stopped as soon as its scratch directory is made.
      await new Promise<void>((resolve) => {
        const watcher = watch(scratchParent, () => {
          watcher.close();
          resolve();
        });
      });
      child.kill(signal);
      const code = await exited;
      expect(await readdir(scratchParent)).toEqual([]);
      expect(code).toBe(signal === "SIGINT" ? 130 : 143);
      expect(existsSync(`${archive}.sig`)).toBe(false);
    },
  );
});
