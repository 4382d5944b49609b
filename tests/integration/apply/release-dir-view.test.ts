/**
 * What rollback commands see in `$SHIP_RELEASE_DIR`, and what a rollback costs for it. It used to
 * be a copy of every file the undone release left in the app (a 20,000-file app: 17 s). Now only
 * what the undone update changed is kept aside; the rest is the app's, seen through an overlay
 * where ship may mount (root), copied where it may not (here: a path mount's options cannot carry).
 * Either way the commands see exactly the undone release's files, what they write never reaches the
 * restored app, and nothing is left behind (no mount, no copy). Real `ship` processes.
 */
import { spawnSync } from "node:child_process";
import { lstatSync, statSync } from "node:fs";
import { appendFile, link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { listedBackups } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

const HOOK = [
  // What the command sees: the release's files, not those it had removed.
  'find . -type f | sort > "$OUT/seen"',
  'cat keep.conf > "$OUT/keep"',
  // The cost: an unchanged file is the app's own (same inode) seen through the overlay, not a copy.
  'stat -c %i lib/a.txt > "$OUT/inode"',
  // Writing the release's files in place, unchanged ones included, stays in the copy.
  'echo hook >> "$SHIP_RELEASE_DIR/keep.conf"',
  'echo hook > "$SHIP_RELEASE_DIR/lib/a.txt"',
  'echo hook >> "$SHIP_RELEASE_DIR/app.txt"',
  'echo hook >> "$SHIP_RELEASE_DIR/new.txt"',
  'rm "$SHIP_RELEASE_DIR/lib/b.txt"',
].join("\n");

const layouts = [
  { name: "overlay (root) or copies", tmp: undefined },
  // A comma: mount's options cannot carry the path, so the unchanged files are copied even as root.
  { name: "copies (a path mount cannot take)", tmp: "/tmp/ship,view" },
] as const;

describe.each(layouts)("SHIP_RELEASE_DIR of a rollback: $name (real CLI)", ({ tmp }) => {
  let app: LocalApp;
  let onOne: Record<string, string>;
  const savedTmp = process.env.TMPDIR;
  beforeEach(async () => {
    if (tmp !== undefined) {
      await mkdir(tmp, { recursive: true });
      process.env.TMPDIR = tmp;
    }
    app = await localApp();
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await app.release("r1", `version: "1.0.0"\n`, {
      "app.txt": "v1\n",
      "keep.conf": "keep=1\n",
      "lib/a.txt": "a\n",
      "lib/b.txt": "b\n",
      "old.txt": "old\n",
      "gone/x.txt": "x\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    onOne = await snapshot(app.appDir);
    await app.release(
      "r2",
      `version: "2.0.0"\nhooks:\n  rollback:\n    - "OUT=${app.root} sh scripts/undo.sh"\n`,
      {
        "app.txt": "v2\n",
        "keep.conf": "keep=1\n",
        "lib/a.txt": "a\n",
        "lib/b.txt": "b\n",
        "new.txt": "new\n",
        "scripts/undo.sh": `${HOOK}\n`,
      },
    );
    expect((await runShip(["--config", app.config])).code).toBe(0);
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("--rollback: the release's own files, none of the app's changed, nothing left", async () => {
    const [newest] = await listedBackups(app);
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stderr).not.toMatch(/WARN/);
    expect((await readFile(join(app.root, "seen"), "utf8")).split("\n").filter(Boolean)).toEqual([
      "./app.txt",
      "./keep.conf",
      "./lib/a.txt",
      "./lib/b.txt",
      "./new.txt",
      "./scripts/undo.sh",
    ]);
    expect(await readFile(join(app.root, "keep"), "utf8")).toBe("keep=1\n");
    const copied =
      (await readFile(join(app.root, "inode"), "utf8")).trim() !==
      String(statSync(join(app.appDir, "lib/a.txt")).ino);
    expect(copied).toBe(tmp !== undefined || !(await canMountOverlay()));
    expect(await snapshot(app.appDir)).toEqual(onOne);
    const [stateDir] = await readdir(join(app.root, "var/apps"));
    const own = await readdir(join(app.root, "var/apps", String(stateDir)));
    expect(own.filter((name) => name.startsWith("release-being-undone"))).toEqual([]);
    expect(await readFile("/proc/self/mounts", "utf8")).not.toContain(app.root);
  });

  it("--rollback: a file the update wrote, changed here since or linked to a file outside, is not written through", async () => {
    // Edited in place (the same inode): not ship's to touch, so the restore leaves it in the app.
    await appendFile(join(app.appDir, "app.txt"), "local\n");
    // The installed bytes, but a second name of a file outside the app.
    const outside = join(app.root, "shared-new.txt");
    await writeFile(outside, "new\n");
    await rm(join(app.appDir, "new.txt"));
    await link(outside, join(app.appDir, "new.txt"));
    const [newest] = await listedBackups(app);
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout + back.stderr).toMatch(/app\.txt/);
    expect(await readFile(outside, "utf8")).toBe("new\n");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\nlocal\n");
    expect(await readFile(join(app.root, "keep"), "utf8")).toBe("keep=1\n");
  });

  it("--rollback: a file the update wrote that the app replaced with a directory is left alone, and the commands run", async () => {
    await rm(join(app.appDir, "new.txt"));
    await mkdir(join(app.appDir, "new.txt"));
    await writeFile(join(app.appDir, "new.txt/mine"), "mine\n");
    const [newest] = await listedBackups(app);
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain("left alone: new.txt");
    expect(await readFile(join(app.appDir, "new.txt/mine"), "utf8")).toBe("mine\n");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect(await readFile(join(app.root, "keep"), "utf8")).toBe("keep=1\n");
  });

  it("--rollback: a release file the app replaced with a FIFO is left out of the copies, never waited on", async () => {
    const fifo = join(app.appDir, "lib/b.txt");
    await rm(fifo);
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const [newest] = await listedBackups(app);
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)], {
      timeoutMs: 30_000,
    });
    const copies = tmp !== undefined || !(await canMountOverlay());
    // Copied, b.txt is missing from $SHIP_RELEASE_DIR, and the command's `rm` of it fails: exit 1.
    expect(back.code, back.stdout + back.stderr).toBe(copies ? 1 : 0);
    if (copies)
      expect(back.stderr).toMatch(/lib\/b\.txt: it is a FIFO, not a file.*left out of \$SHIP_RELEASE_DIR/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });

  it("the automatic rollback of a failing update: the same", async () => {
    // 3.0.0 fails its test; the hook of 3.0.0 is 2.0.0's, and 2.0.0 comes back byte for byte.
    const onTwo = await snapshot(app.appDir);
    await app.release(
      "r3",
      `version: "3.0.0"\nhooks:\n  rollback:\n    - "OUT=${app.root} sh scripts/undo.sh"\npost_update_tests:\n  - name: health\n    command: "false"\n`,
      {
        "app.txt": "v3\n",
        "keep.conf": "keep=1\n",
        "lib/a.txt": "a\n",
        "lib/b.txt": "b\n",
        "scripts/undo.sh": `${HOOK}\n`,
      },
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect((await readFile(join(app.root, "seen"), "utf8")).split("\n").filter(Boolean)).toEqual([
      "./app.txt",
      "./keep.conf",
      "./lib/a.txt",
      "./lib/b.txt",
      "./scripts/undo.sh",
    ]);
    expect(await snapshot(app.appDir)).toEqual(onTwo);
    expect(await readFile("/proc/self/mounts", "utf8")).not.toContain(app.root);
  });
});

/** Whether this machine lets the test (so ship) mount an overlay: root, and not a container without the right. */
async function canMountOverlay(): Promise<boolean> {
  if (process.geteuid?.() !== 0) return false;
  const dir = await mkdtemp(join(tmpdir(), "ship-overlay-probe-"));
  try {
    for (const sub of ["l", "u", "w", "m"]) await mkdir(join(dir, sub));
    const o = `lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w`;
    if (spawnSync("mount", ["-t", "overlay", "probe", "-o", o, join(dir, "m")]).status !== 0) return false;
    spawnSync("umount", [join(dir, "m")]);
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
