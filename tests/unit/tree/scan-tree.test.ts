/**
 * The app scan on a worker thread (scanTreeInWorker) against the serial scanTree the planner always
 * used: the same files, directories, modes, stats and order, with protected directories skipped the
 * same way however the manifest nests them; and a walk that fails or is stopped rejects.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protectedDirectories, protectedDirectoryOf } from "../../../agent/apply/rules.js";
import { scanTree, scanTreeInWorker } from "../../../agent/tree/scan-tree.js";
import { Manifest } from "../../../shared/manifest/schema.js";

let root: string;
let app: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-scan-tree-"));
  app = join(root, "app");
  const files = [
    "a.txt",
    "database.py",
    "data/secret.db",
    "data/cache/c.bin",
    "var/log.txt",
    "var/keep/k.txt",
    "var/keep/deep/d.txt",
    "lib/x/y/z.js",
    "lib/odd name ü.js",
    "logs/today.log",
  ];
  for (const rel of files) {
    await mkdir(join(app, rel, ".."), { recursive: true });
    await writeFile(join(app, rel), rel);
  }
  await symlink("lib", join(app, "lib-link"));
  await symlink("/etc/passwd", join(app, "outside"));
  execFileSync("mkfifo", [join(app, "lib", "pipe")]);
  await mkdir(join(app, "empty"), { mode: 0o750 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const manifests: Record<string, Record<string, { preserve: boolean }>> = {
  "no directory rules": {},
  "a protected dir with an unprotected one inside": {
    data: { preserve: true },
    "data/cache": { preserve: false },
  },
  "an unprotected dir with a protected one inside": {
    "./var/": { preserve: false },
    "var/keep": { preserve: true },
  },
  "keys that name nothing, a file and a symlink": {
    nothing: { preserve: true },
    "a.txt": { preserve: true },
    "lib-link": { preserve: true },
    "logs/": { preserve: true },
  },
};

describe("scanTreeInWorker", () => {
  for (const [name, directories] of Object.entries(manifests)) {
    it(`gives exactly what scanTree gives: ${name}`, async () => {
      const manifest = Manifest.parse({ version: "1", directories });
      const serial = await scanTree(app, {
        skipDir: (rel) => protectedDirectoryOf(manifest, rel) !== undefined,
      });
      const inWorker = await scanTreeInWorker(app, protectedDirectories(manifest)).scan;
      expect(inWorker).toEqual(serial);
      expect([...inWorker.files.keys()]).toEqual([...serial.files.keys()]);
      expect([...inWorker.dirs.keys()]).toEqual([...serial.dirs.keys()]);
      expect(serial.files.get("lib-link")?.type).toBe("symlink");
      expect(serial.files.has("lib/pipe")).toBe(false);
    });
  }

  it("enters no protected directory, and the nested rules decide", async () => {
    const manifest = Manifest.parse({ version: "1", directories: { data: {}, "var/keep": {} } });
    expect(protectedDirectories(manifest)).toEqual(["data", "var/keep"]);
    const scan = await scanTreeInWorker(app, protectedDirectories(manifest)).scan;
    expect(scan.dirs.has("data")).toBe(true);
    expect(
      [...scan.files.keys()].filter((rel) => rel.startsWith("data/") || rel.startsWith("var/keep/")),
    ).toEqual([]);
    expect(scan.files.has("database.py")).toBe(true);
    expect(scan.files.has("var/log.txt")).toBe(true);
  });

  it("a missing root is an empty tree, as for scanTree", async () => {
    const missing = join(root, "not-there");
    expect(await scanTreeInWorker(missing, []).scan).toEqual(await scanTree(missing));
  });

  it("rejects when the walk fails, and when it is stopped", async () => {
    await expect(scanTreeInWorker(join(app, "a.txt"), []).scan).rejects.toThrow(/ENOTDIR/);
    const walk = scanTreeInWorker(app, []);
    walk.stop();
    await expect(walk.scan).rejects.toThrow();
  });
});
