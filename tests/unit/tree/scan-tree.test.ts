/**
 * The app scan (scanTree): lstat only, symlinks reported and never followed, no FIFOs, and protected
 * directories reported but never entered however the manifest nests them.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protectedDirectoryOf } from "../../../agent/apply/rules.js";
import { scanTree } from "../../../agent/tree/scan-tree.js";
import { Manifest } from "../../../shared/manifest/schema.js";
import { longestStall } from "../../support/loaded-host.js";

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

const underProtected = (rel: string, manifest: Manifest) =>
  rel.split("/").some((_, i, parts) => {
    const dir = parts.slice(0, i + 1).join("/");
    return i < parts.length - 1 && protectedDirectoryOf(manifest, dir) !== undefined;
  });

describe("scanTree", () => {
  for (const [name, directories] of Object.entries(manifests)) {
    it(`enters no protected directory and reports everything else: ${name}`, async () => {
      const manifest = Manifest.parse({ version: "1", directories });
      const scan = await scanTree(app, {
        skipDir: (rel) => protectedDirectoryOf(manifest, rel) !== undefined,
      });
      const all = await scanTree(app);
      expect([...scan.files.keys()].sort()).toEqual(
        [...all.files.keys()].filter((rel) => !underProtected(rel, manifest)).sort(),
      );
      expect(scan.dirs.has("data")).toBe(true);
      expect(scan.files.get("lib-link")?.type).toBe("symlink");
      expect(scan.files.get("outside")?.type).toBe("symlink");
      expect(scan.files.has("lib/pipe")).toBe(false);
      expect(scan.dirs.get("empty")).toBe(0o750);
    });
  }

  it("nested rules decide: a protected dir inside an unprotected one is skipped, and the reverse", async () => {
    const manifest = Manifest.parse({
      version: "1",
      directories: manifests["an unprotected dir with a protected one inside"],
    });
    const scan = await scanTree(app, { skipDir: (rel) => protectedDirectoryOf(manifest, rel) !== undefined });
    expect(scan.files.has("var/log.txt")).toBe(true);
    expect(scan.files.has("var/keep/k.txt")).toBe(false);
    expect(scan.dirs.has("var/keep")).toBe(true);
  });

  it("a missing root is an empty tree; a file as root fails", async () => {
    const missing = await scanTree(join(root, "not-there"));
    expect(missing.files.size + missing.dirs.size).toBe(0);
    await expect(scanTree(join(app, "a.txt"))).rejects.toThrow(/ENOTDIR/);
  });
});

describe("scanTree and the agent's event loop", () => {
  let big: string;
  beforeAll(async () => {
    big = join(root, "big");
    for (let d = 0; d < 8; d++) {
      await mkdir(join(big, `d${d}`), { recursive: true });
      await Promise.all(Array.from({ length: 50 }, (_, i) => writeFile(join(big, `d${d}`, `f${i}.js`), "x")));
    }
  });

  // The agent's "still working" to the hub rides the same loop: a walk of 20,000 files held it for
  // seconds on a loaded host. A per-entry cost of 2 ms stands in for that host, whatever this one's speed.
  it("lets timers run at least every LOOP_SLICE_MS however long the walk takes", async () => {
    const slowHost = () => {
      const until = performance.now() + 2;
      while (performance.now() < until);
      return false;
    };
    let files = 0;
    const { longest, took } = await longestStall(async () => {
      files = (await scanTree(big, { skipFile: slowHost })).files.size;
    });
    expect(files).toBe(400);
    expect(took).toBeGreaterThan(800);
    // LOOP_SLICE_MS (50) and one entry, with room for a loaded test machine's scheduling.
    expect(
      longest,
      `longest stretch without a timer ${Math.round(longest)} ms of ${Math.round(took)} ms`,
    ).toBeLessThan(300);
  });
});
