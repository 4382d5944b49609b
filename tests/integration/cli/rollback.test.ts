/**
 * `ship --rollback` and what ship says around it, as an operator sees it: real `ship` processes on a
 * local source, the Capistrano layout (a shared directory linked into the app), state afterwards.
 */
import { existsSync } from "node:fs";
import {
  chmod,
  chown,
  lchown,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { bindMount, mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { snapshot, writeTree } from "../apply/tree-fixtures.js";

let root: string;
let config: string;

async function release(name: string, version: string, files: Record<string, string>, extra = "") {
  const dir = join(root, name);
  await writeTree(dir, { ...files, "update-manifest.yaml": `version: "${version}"\n${extra}` });
  return dir;
}

async function useRelease(dir: string): Promise<void> {
  await writeFile(
    config,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${root}/app"\n`,
  );
}

/** chown -R: the test's whole tree to the user ship runs as. */
async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid, gid);
    else await lchown(path, uid, gid);
  }
}

async function state(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(root, "var/state.json"), "utf8")).sources.myapp;
}

/** A real HTTP peer on 127.0.0.1 recording JSON bodies: the webhook a notification goes to. */
async function receiver(): Promise<{
  url: string;
  bodies: Record<string, unknown>[];
  close(): Promise<void>;
}> {
  const bodies: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString("utf8");
    });
    req.on("end", () => {
      bodies.push(JSON.parse(text));
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The app's regular files (the release's manifest aside) and their text. */
async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort())
    if (name !== "update-manifest.yaml") out[name] = await readFile(join(dir, name), "utf8");
  return out;
}

async function backups(): Promise<{ id: string; path: string; version: string | null }[]> {
  const listed = await runShip(["--config", config, "--list-backups", "--json"]);
  return JSON.parse(listed.stdout);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-rollback-cli-"));
  config = join(root, "ship.toml");
  await mkdir(join(root, "app"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("ship --rollback (real CLI)", () => {
  it("a shared directory bind-mounted into the app: an update through it is refused, and rolling back to the first backup leaves it byte for byte", async (ctx) => {
    // A mount point was taken for one of ship's directories: an update replaced the operator's
    // files through it, and the restore put ship's files through it and then stopped half-way
    // (exit 3) at its rmdir, EBUSY.
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n", "storage/.gitkeep": "" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "storage/.gitkeep": "" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const shared = join(root, "shared/storage");
    await writeTree(shared, { ".gitkeep": "operator's\n", "uploads/photo.jpg": "jpeg bytes\n" });
    if (!bindMount(shared, join(root, "app/storage"))) return ctx.skip();
    try {
      const sharedBefore = await snapshot(shared);
      // An update through the mount is refused as one through a symlink is (it replaced the
      // operator's .gitkeep in the shared directory).
      await useRelease(await release("r3", "3.0.0", { "app.py": "v3\n", "storage/.gitkeep": "v3\n" }));
      const refused = await runShip(["--config", config]);
      expect(refused.code, refused.stdout + refused.stderr).toBe(2);
      expect(refused.stdout).toContain(
        "the app has a mount point at storage (what is mounted there is not the app's), and the release writes there",
      );
      expect(await snapshot(shared)).toEqual(sharedBefore);
      const listed = await runShip(["--config", config, "--list-backups"]);
      const first = listed.stdout.trim().split("\n").at(-1)?.split(" ")[0] ?? "";
      const rolled = await runShip(["--config", config, "--rollback", first]);
      expect(rolled.code, rolled.stdout + rolled.stderr).toBe(0);
      expect(rolled.stdout).toContain(
        "left alone: storage/.gitkeep (behind a symlink or mount point, outside the app directory)",
      );
      expect(await snapshot(shared)).toEqual(sharedBefore);
      expect(await readdir(join(root, "app"))).toEqual(["storage"]);
    } finally {
      unmountTmpfs(join(root, "app/storage"));
    }
  });

  it("a mount hidden by a later mount over the app is no mount point: the update writes the app's own directory, never the hidden shared one", async (ctx) => {
    // The deepest mount point was taken for the one a path is seen through: storage, bound and then
    // hidden by a bind of the app's volume over the app, refused every update writing there (exit 2)
    // for a mount nobody could reach.
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n", "storage/.gitkeep": "" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const shared = join(root, "shared/storage");
    await writeTree(shared, { ".gitkeep": "operator's\n" });
    const app = join(root, "app");
    if (!bindMount(shared, join(app, "storage"))) return ctx.skip();
    const mounted = [join(app, "storage")];
    try {
      if (!bindMount(app, app)) return ctx.skip();
      mounted.push(app);
      expect(await readdir(join(app, "storage"))).toEqual([".gitkeep"]);
      await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "storage/.gitkeep": "v2\n" }));
      const updated = await runShip(["--config", config]);
      expect(updated.code, updated.stdout + updated.stderr).toBe(0);
      expect(await readFile(join(app, "storage/.gitkeep"), "utf8")).toBe("v2\n");
      const toV1 = (await backups()).find((b) => b.version === "1.0.0");
      const rolled = await runShip(["--config", config, "--rollback", toV1?.id ?? ""]);
      expect(rolled.code, rolled.stdout + rolled.stderr).toBe(0);
      expect(await readFile(join(app, "storage/.gitkeep"), "utf8")).toBe("");
      expect(await state()).toMatchObject({ current_version: "1.0.0", last_result: "rolled_back" });
    } finally {
      for (const dir of mounted.reverse()) unmountTmpfs(dir);
    }
    expect(await readFile(join(shared, ".gitkeep"), "utf8")).toBe("operator's\n");
  });

  it("a file and a directory bound into the app holding ship's own bytes: an update dropping them is refused, a rollback leaves them alone", async (ctx) => {
    // The operator's copies equal what ship installed: an update whose release dropped them deleted
    // the shared directory's .gitkeep through the mount (exit 0), and rolling back to the first
    // backup stopped half-way at the unlink of the bound config.ini (EBUSY, exit 3).
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const shipped = { "app.py": "v2\n", "config.ini": "shipped\n", "storage/.gitkeep": "" };
    await useRelease(await release("r2", "2.0.0", shipped));
    expect((await runShip(["--config", config])).code).toBe(0);
    const shared = join(root, "shared");
    await writeTree(shared, {
      "config.ini": "shipped\n",
      "storage/.gitkeep": "",
      "storage/uploads/p.jpg": "jpeg\n",
    });
    const mounted: string[] = [];
    try {
      for (const rel of ["config.ini", "storage"]) {
        if (!bindMount(join(shared, rel), join(root, "app", rel))) return ctx.skip();
        mounted.unshift(join(root, "app", rel));
      }
      const sharedBefore = await snapshot(shared);
      await useRelease(await release("r3", "3.0.0", { "app.py": "v3\n" }));
      for (const rel of ["config.ini", "storage"]) {
        const refused = await runShip(["--config", config]);
        expect(refused.code, refused.stdout + refused.stderr).toBe(2);
        expect(refused.stdout).toContain(
          `the app has a mount point at ${rel} (what is mounted there is not the app's), and ship installed files there that this release removes`,
        );
        expect(await snapshot(shared)).toEqual(sharedBefore);
        if (rel !== "config.ini") continue;
        unmountTmpfs(join(root, "app/config.ini"));
        mounted.splice(mounted.indexOf(join(root, "app/config.ini")), 1);
      }
      if (!bindMount(join(shared, "config.ini"), join(root, "app/config.ini"))) return ctx.skip();
      mounted.unshift(join(root, "app/config.ini"));
      const first = (await backups()).at(-1)?.id ?? "";
      const rolled = await runShip(["--config", config, "--rollback", first]);
      expect(rolled.code, rolled.stdout + rolled.stderr).toBe(0);
      expect(rolled.stdout).toContain(
        "left alone: config.ini (behind a symlink or mount point, outside the app directory)",
      );
      expect(await snapshot(shared)).toEqual(sharedBefore);
    } finally {
      for (const dir of mounted) unmountTmpfs(dir);
    }
  });

  it("a mount a pre_update hook makes after the check: the apply writes nothing through it", async (ctx) => {
    // The check before the hooks saw no mount point, and the apply replaced the shared directory's
    // .gitkeep through the one the hook made (exit 0, 'replaced 1 file(s) ship had not installed').
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n", "storage/keep.txt": "" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const shared = join(root, "shared");
    await writeTree(shared, { ".gitkeep": "operator's\n" });
    const storage = join(root, "app/storage");
    if (!bindMount(shared, storage)) return ctx.skip();
    unmountTmpfs(storage);
    const hook = `hooks:\n  pre_update:\n    - "mount --bind ${shared} ${storage}"\n`;
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "storage/.gitkeep": "v2\n" }, hook));
    try {
      const run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stdout + run.stderr).toContain(
        "update failed at apply: the app has a mount point at storage (what is mounted there is not the app's), and the release writes there",
      );
      expect(await readFile(join(shared, ".gitkeep"), "utf8")).toBe("operator's\n");
    } finally {
      if ((await readFile("/proc/self/mountinfo", "utf8")).includes(` ${storage} `)) unmountTmpfs(storage);
    }
  });

  it("the Capistrano layout: rolling back to the first backup leaves the shared directory byte for byte", async () => {
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n", "storage/.gitkeep": "" }));
    expect((await runShip(["--config", config])).code).toBe(0);

    // The operator moves storage/ to a shared directory with their own files and links it in.
    const shared = join(root, "shared/storage");
    await writeTree(shared, { ".gitkeep": "operator's\n", "uploads/photo.jpg": "jpeg bytes\n" });
    await rm(join(root, "app/storage"), { recursive: true });
    await symlink(shared, join(root, "app/storage"));
    const sharedBefore = await snapshot(shared);

    // An update through the link is refused before anything runs or changes, and says so.
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "storage/.gitkeep": "v2\n" }));
    const refused = await runShip(["--config", config]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain("the app has a symlink at storage, where the release needs a directory");
    expect(refused.stdout).toContain("nothing was run or changed");
    expect(refused.stdout).not.toContain("restored");
    expect(refused.stdout).not.toContain("myapp: myapp:");
    expect(await snapshot(shared)).toEqual(sharedBefore);
    // The check refused by the same link names what is installed and what it would install, as the
    // run's report does: its --json said "fromVersion": null, "toVersion": null, "nothing installed".
    const check = await runShip(["--config", config, "--check-only", "--json"]);
    expect(check.code).toBe(2);
    expect(JSON.parse(check.stdout).apps[0]).toMatchObject({
      result: "failed_unchanged",
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
    });

    const first = (await backups()).at(-1);
    expect(first?.version).toBeNull();
    const rollback = await runShip(["--config", config, "--rollback", first?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await snapshot(shared)).toEqual(sharedBefore);
    expect(await readFile(join(shared, ".gitkeep"), "utf8")).toBe("operator's\n");
    expect(rollback.stdout).toContain("storage/.gitkeep");
  });

  it("--check-only never calls a source whose release is not there current", async () => {
    // A release path that is not there is bad input found before the check starts (exit 2, one
    // line naming the key); it never reads "current".
    await useRelease(join(root, "no-such-release"));
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/sources\.myapp\.path: \S+\/no-such-release: no such file or directory/);
    expect(check.stdout).not.toContain("current");
  });

  it("after a rollback, state and --check-only say what is on disk, and the next run offers the newer release again", async () => {
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const toV1 = (await backups()).find((b) => b.version === "1.0.0");
    const rollback = await runShip(["--config", config, "--rollback", toV1?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await state()).toMatchObject({
      current_version: "1.0.0",
      previous_version: "2.0.0",
      last_result: "rolled_back",
      last_error: null,
    });
    // The same --rollback again said only "holds no backup with id …", as if the id were mistyped;
    // and said "it was restored" only until the trash holding the consumed backup was emptied.
    for (const trash of ["kept", "emptied"]) {
      if (trash === "emptied")
        await rm(join(root, "var/backups/myapp/.trash"), { recursive: true, force: true });
      for (const target of [toV1?.id ?? "", toV1?.path ?? ""]) {
        const twice = await runShip(["--config", config, "--rollback", target]);
        expect(twice.code, `${trash}: ${twice.stderr}`).toBe(2);
        expect(twice.stderr.trim()).toMatch(
          /^ship: \/\S+ (holds no backup with id \S+ any more|does not exist any more): it was restored, and a restore consumes its backup; the app is on the version it brought back \(ship --list-backups lists the backups left, to go back further\)$/,
        );
      }
    }
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v1\n");

    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stdout).toBe(100);
    expect(check.stdout).toMatch(/^update +myapp: /m);
    const again = await runShip(["--config", config]);
    expect(again.code, again.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v2\n");
    expect(await state()).toMatchObject({ current_version: "2.0.0", previous_version: "1.0.0" });
  });

  it("with a second source on the same app_dir, the state still follows the rollback to what is on disk", async () => {
    // One app_dir, two sources (the README's one-per-kind example, run with --sources NAME): the state
    // kept the undone 2.0.0, with 2.0.0 as previous_version too, beside 1.0.0's files.
    const other = await release("w", "5.0.0", { "w.txt": "w\n" });
    const twoSources = async (dir: string) => {
      await useRelease(dir);
      await writeFile(
        config,
        `${await readFile(config, "utf8")}\n[sources.other]\ntype = "local"\npath = "${other}"\napp_dir = "${root}/app"\n`,
      );
    };
    await twoSources(await release("r1", "1.0.0", { "app.py": "v1\n" }));
    expect((await runShip(["--config", config, "--sources", "myapp"])).code).toBe(0);
    await twoSources(await release("r2", "2.0.0", { "app.py": "v2\n" }));
    expect((await runShip(["--config", config, "--sources", "myapp"])).code).toBe(0);
    const toV1 = (await backups()).find((b) => b.version === "1.0.0");
    const rollback = await runShip(["--config", config, "--rollback", toV1?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v1\n");
    expect(await state()).toMatchObject({
      current_version: "1.0.0",
      previous_version: "2.0.0",
      last_result: "rolled_back",
    });
    const check = await runShip(["--config", config, "--check-only", "--sources", "myapp", "--json"]);
    expect(check.code, check.stdout).toBe(100);
    const [report] = (JSON.parse(check.stdout) as { apps: Record<string, unknown>[] }).apps;
    expect(report).toMatchObject({ fromVersion: "1.0.0", toVersion: "2.0.0" });
  });

  it("a directory the restore may not write in refuses the rollback with nothing changed, named in one line", async () => {
    // As root (CI), ship runs as nobody and the directory belongs to root, as when an operator ran
    // something as root in the app; otherwise the directory is made read-only.
    const asRoot = process.getuid?.() === 0;
    const user = asRoot ? { uid: 65534, gid: 65534 } : undefined;
    const as = (args: string[]) => runShip(["--config", config, ...args], user === undefined ? {} : { user });
    await useRelease(await release("r1", "1.0.0", { "a.txt": "v1\n", "lib/b.txt": "v1\n" }));
    if (user !== undefined) await chownTree(root, user.uid, user.gid);
    expect((await as([])).code).toBe(0);
    await useRelease(await release("r2", "2.0.0", { "a.txt": "v2\n", "lib/b.txt": "v2\n" }));
    if (user !== undefined) await chownTree(root, user.uid, user.gid);
    expect((await as([])).code).toBe(0);
    const lib = join(root, "app/lib");
    if (asRoot) await chown(lib, 0, 0);
    else await chmod(lib, 0o555);
    try {
      const before = await snapshot(join(root, "app"));
      const listed = JSON.parse((await as(["--list-backups", "--json"])).stdout) as {
        id: string;
        version: string;
      }[];
      const toV1 = listed.find((b) => b.version === "1.0.0");
      const refused = await as(["--rollback", toV1?.id ?? ""]);
      expect(refused.code, refused.stderr).toBe(1);
      const lines = refused.stderr.trim().split("\n");
      expect(lines.at(-1)).toBe(
        `ship: myapp: cannot restore: ${lib} is not writable: permission denied (EACCES); nothing was changed`,
      );
      expect(await snapshot(join(root, "app"))).toEqual(before);
      expect(await state()).toMatchObject({
        current_version: "2.0.0",
        last_error: expect.stringContaining(lib),
      });
      // Nothing to recover; the backup is still there and works once the directory is fixed.
      expect(await readdir(join(root, "var/backups/myapp"))).toContain(toV1?.id);
      if (asRoot) await chown(lib, 65534, 65534);
      else await chmod(lib, 0o755);
      const rollback = await as(["--rollback", toV1?.id ?? ""]);
      expect(rollback.code, rollback.stderr).toBe(0);
      expect(await readFile(join(root, "app/lib/b.txt"), "utf8")).toBe("v1\n");
      expect(await state()).toMatchObject({ current_version: "1.0.0", last_result: "rolled_back" });
    } finally {
      await chmod(lib, 0o755).catch(() => undefined);
    }
  });

  it("a file the restore must read to judge, made unreadable since, refuses the rollback with nothing changed (it stopped half-way, exit 3)", async (ctx) => {
    // ship as nobody, whom mode 000 keeps out of its own file; root reads it whatever its mode.
    if (process.getuid?.() !== 0) return ctx.skip();
    const user = { uid: 65534, gid: 65534 };
    const as = (args: string[]) => runShip(["--config", config, ...args], { user });
    await useRelease(await release("r1", "1.0.0", { "a.txt": "v1\n", "lib/b.txt": "v1\n" }));
    await chownTree(root, user.uid, user.gid);
    expect((await as([])).code).toBe(0);
    await useRelease(
      await release("r2", "2.0.0", { "a.txt": "v2\n", "lib/b.txt": "v2\n", "c.txt": "new\n" }),
    );
    await chownTree(root, user.uid, user.gid);
    expect((await as([])).code).toBe(0);
    // The app's own chmod: its stat no longer vouches for it, so the restore must read it.
    const locked = join(root, "app/lib/b.txt");
    await chmod(locked, 0o000);
    const before = await snapshot(join(root, "app"));
    const listed = JSON.parse((await as(["--list-backups", "--json"])).stdout) as {
      id: string;
      version: string;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    const refused = await as(["--rollback", toV1?.id ?? ""]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(
        `^ship: myapp: cannot restore: ${locked} changed since the update and cannot be read .*permission denied \\(EACCES\\).*; nothing was changed$`,
      ),
    );
    expect(await snapshot(join(root, "app"))).toEqual(before);
    expect(await state()).toMatchObject({ current_version: "2.0.0", last_result: "failed_unchanged" });
    await chmod(locked, 0o644);
    const rollback = await as(["--rollback", toV1?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await readFile(join(root, "app/a.txt"), "utf8")).toBe("v1\n");
    expect(await readFile(locked, "utf8")).toBe("v1\n");
    expect(existsSync(join(root, "app/c.txt"))).toBe(false);
  });

  it("a file only an older backup of the chain must read, made unreadable since, refuses the whole rollback before anything moves", async (ctx) => {
    // Only the first restore's files were asked about: 3.0.0's restore ran (and its rollback hooks),
    // then 2.0.0's was refused on lib/b.txt, which 3.0.0 left alone, with the app moved to 2.0.0.
    if (process.getuid?.() !== 0) return ctx.skip();
    const user = { uid: 65534, gid: 65534 };
    const as = (args: string[]) => runShip(["--config", config, ...args], { user });
    for (const [v, lib] of [
      ["1", "v1"],
      ["2", "v2"],
      ["3", "v2"],
    ] as const) {
      await useRelease(await release(`r${v}`, `${v}.0.0`, { "a.txt": `v${v}\n`, "lib/b.txt": `${lib}\n` }));
      await chownTree(root, user.uid, user.gid);
      expect((await as([])).code).toBe(0);
    }
    const locked = join(root, "app/lib/b.txt");
    await chmod(locked, 0o000);
    const before = await snapshot(join(root, "app"));
    const listed = JSON.parse((await as(["--list-backups", "--json"])).stdout) as {
      id: string;
      version: string;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    const refused = await as(["--rollback", toV1?.id ?? ""]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(
        `^ship: myapp: cannot restore: ${locked} changed since the update and cannot be read .*permission denied \\(EACCES\\).*\\(restoring ${toV1?.id}, a backup of this rollback's chain\\); nothing was changed$`,
      ),
    );
    expect(await snapshot(join(root, "app"))).toEqual(before);
    expect(await state()).toMatchObject({ current_version: "3.0.0", last_result: "failed_unchanged" });
    await chmod(locked, 0o644);
    const rollback = await as(["--rollback", toV1?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await readFile(join(root, "app/a.txt"), "utf8")).toBe("v1\n");
    expect(await readFile(locked, "utf8")).toBe("v1\n");
  });

  it("app files at mode 000 an update replaces (ship as nobody) are moved aside unread whatever their size, their copies recorded by size, and the rollback puts them back", async (ctx) => {
    // The same-sized one failed the update at apply ("cannot open"), the planner reading it to compare
    // with the release; the other was replaced, with a WARN "could not record the sizes of the
    // backup's copies" (EACCES) and no record of any copy, the readable ones included.
    if (process.getuid?.() !== 0) return ctx.skip();
    const user = { uid: 65534, gid: 65534 };
    const as = (args: string[]) => runShip(["--config", config, ...args], { user });
    await useRelease(await release("r1", "1.0.0", { "a.txt": "v1\n", "b.txt": "b1\n", "c.txt": "c1\n" }));
    await chownTree(root, user.uid, user.gid);
    expect((await as([])).code).toBe(0);
    await chmod(join(root, "app/a.txt"), 0o000);
    await chmod(join(root, "app/b.txt"), 0o000);
    await useRelease(
      await release("r2", "2.0.0", { "a.txt": "v2\n", "b.txt": "longer b2\n", "c.txt": "c22\n" }),
    );
    await chownTree(root, user.uid, user.gid);
    const run = await as([]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain("could not record");
    expect(await readFile(join(root, "app/a.txt"), "utf8")).toBe("v2\n");
    expect(await readFile(join(root, "app/b.txt"), "utf8")).toBe("longer b2\n");
    const listed = JSON.parse((await as(["--list-backups", "--json"])).stdout) as {
      id: string;
      path: string;
      version: string;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    const saved = JSON.parse(await readFile(join(toV1?.path ?? "", "saved.json"), "utf8"));
    expect(saved).toMatchObject({ "a.txt": 3, "b.txt": 3, "c.txt": { size: 3 } });
    expect(saved["c.txt"].sha256).toMatch(/^[0-9a-f]{64}$/);
    const back = await as(["--rollback", toV1?.id ?? ""]);
    expect(back.code, back.stderr).toBe(0);
    for (const [name, text] of [
      ["a.txt", "v1\n"],
      ["b.txt", "b1\n"],
    ]) {
      expect(await readFile(join(root, "app", name ?? ""), "utf8")).toBe(text);
      expect((await stat(join(root, "app", name ?? ""))).mode & 0o777).toBe(0);
    }
    expect(await readFile(join(root, "app/c.txt"), "utf8")).toBe("c1\n");
  });

  it("backup_dir on another filesystem: a saved copy ship's user cannot read refuses the rollback, chained or single, before anything moves", async (ctx) => {
    // Copied back, not renamed: the restore read each copy in turn and stopped half-way on this one
    // ("RESTORE STOPPED HALF-WAY", exit 3), a.txt and c.txt restored and b.txt not.
    if (process.getuid?.() !== 0) return ctx.skip();
    const backups = join(root, "var/backups");
    await mkdir(backups, { recursive: true });
    if (!mountTmpfs(backups, "4m")) return ctx.skip();
    try {
      const user = { uid: 65534, gid: 65534 };
      const as = (args: string[]) => runShip(["--config", config, ...args], { user });
      for (const v of ["1", "2", "3"]) {
        await useRelease(
          await release(`r${v}`, `${v}.0.0`, { "a.txt": `v${v}\n`, "b.txt": `b${v}\n`, "c.txt": `c${v}\n` }),
        );
        await chownTree(root, user.uid, user.gid);
        expect((await as([])).code).toBe(0);
      }
      const listed = JSON.parse((await as(["--list-backups", "--json"])).stdout) as {
        id: string;
        path: string;
        version: string;
      }[];
      const toV1 = listed.find((b) => b.version === "1.0.0");
      const toV2 = listed.find((b) => b.version === "2.0.0");
      const locked = join(toV1?.path ?? "", "files/b.txt");
      await chmod(locked, 0o000);
      const before = await snapshot(join(root, "app"));
      const said = `${locked} cannot be read: permission denied (EACCES): chmod u+r it (and u+x its directories): the restore copies it back into ${join(root, "app")}, which is on another filesystem than the backup`;
      const chained = await as(["--rollback", toV1?.id ?? ""]);
      expect(chained.code, chained.stderr).toBe(1);
      expect(chained.stderr.trim().split("\n").at(-1)).toBe(
        `ship: myapp: cannot restore: ${said} (restoring ${toV1?.id}, a backup of this rollback's chain); nothing was changed`,
      );
      expect(await snapshot(join(root, "app"))).toEqual(before);
      expect((await as(["--rollback", toV2?.id ?? ""])).code).toBe(0);
      const onV2 = await snapshot(join(root, "app"));
      const single = await as(["--rollback", toV1?.id ?? ""]);
      expect(single.code, single.stderr).toBe(1);
      expect(single.stderr.trim().split("\n").at(-1)).toBe(
        `ship: myapp: cannot restore: ${said}; nothing was changed`,
      );
      expect(await snapshot(join(root, "app"))).toEqual(onV2);
      expect(await state()).toMatchObject({ current_version: "2.0.0" });
      await chmod(locked, 0o644);
      expect((await as(["--rollback", toV1?.id ?? ""])).code).toBe(0);
      expect(await readFile(join(root, "app/b.txt"), "utf8")).toBe("b1\n");
    } finally {
      unmountTmpfs(backups);
    }
  });

  it("a saved copy a newer restore of the chain puts back, mode 000, that an older one must read, refuses the whole rollback before anything moves", async (ctx) => {
    // 3.0.0's backup keeps 2.0.0's a.txt at mode 000: its restore put it back, then 2.0.0's restore
    // had to read it and stopped, the app moved to 2.0.0 (exit 1, "rolled back only part of the way").
    if (process.getuid?.() !== 0) return ctx.skip();
    const user = { uid: 65534, gid: 65534 };
    const as = (args: string[]) => runShip(["--config", config, ...args], { user });
    for (const v of ["1", "2", "3"]) {
      await useRelease(await release(`r${v}`, `${v}.0.0`, { "a.txt": `v${v}\n`, "b.txt": `b${v}\n` }));
      await chownTree(root, user.uid, user.gid);
      expect((await as([])).code).toBe(0);
    }
    const before = await snapshot(join(root, "app"));
    const listed = JSON.parse((await as(["--list-backups", "--json"])).stdout) as {
      id: string;
      version: string;
      path: string;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    const toV2 = listed.find((b) => b.version === "2.0.0");
    await chmod(`${toV2?.path}/files/a.txt`, 0o000);
    const refused = await as(["--rollback", toV1?.id ?? ""]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr.trim().split("\n").at(-1)).toBe(
      `ship: myapp: cannot restore: ${toV2?.path}/files/a.txt cannot be read: permission denied (EACCES): chmod u+r it (it is the saved copy restoring ${toV2?.id} puts back at a.txt, which restoring ${toV1?.id}, a backup of this rollback's chain, must then read to tell whether it is still the file ship installed); nothing was changed`,
    );
    expect(await snapshot(join(root, "app"))).toEqual(before);
    expect(await state()).toMatchObject({ current_version: "3.0.0", last_result: "failed_unchanged" });
    await chmod(`${toV2?.path}/files/a.txt`, 0o644);
    const rollback = await as(["--rollback", toV1?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await files(join(root, "app"))).toEqual({ "a.txt": "v1\n", "b.txt": "b1\n" });
  });

  it("an app_dir that became a dangling symlink refuses the rollback naming the key, with nothing changed", async () => {
    const real = join(root, "volume/app");
    await mkdir(real, { recursive: true });
    await rm(join(root, "app"), { recursive: true, force: true });
    await symlink(real, join(root, "app"));
    await useRelease(await release("v1", "1.0.0", { "app.txt": "1\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("v2", "2.0.0", { "app.txt": "2\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const backups = await readdir(join(root, "var/backups/myapp"));
    await rm(join(root, "volume"), { recursive: true });
    const before = await snapshot(join(root, "var"));
    // Before: exit 3 "RESTORE STOPPED HALF-WAY — no such file or directory (ENOENT): mkdir …/app".
    const run = await runShip(["--config", config, "--rollback", backups.sort()[1] as string]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim()).toBe(
      `ship: ${config}:9:1 sources.myapp.app_dir: ${root}/app is a symlink to ${real}, which does not exist: create that directory (or point the link at an existing one)`,
    );
    expect(await snapshot(join(root, "var"))).toEqual(before);
    expect(await readdir(root)).not.toContain("volume");
  });

  it("two configs sharing backup_dir and a source name never list, restore or prune each other's backups", async () => {
    const configFor = async (name: string, releaseDir: string) => {
      const file = join(root, `${name}.toml`);
      await writeFile(
        file,
        `[general]\nstate_file = "${root}/${name}/state.json"\nbackup_dir = "${root}/shared-backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${releaseDir}"\napp_dir = "${root}/${name}/app"\n`,
      );
      return file;
    };
    const keepOne = "rollback:\n  keep_backups: 1\n";
    const blue = await configFor("blue", await release("b1", "1.0.0", { "app.txt": "blue 1\n" }, keepOne));
    const green = await configFor("green", await release("g1", "1.0.0", { "app.txt": "green 1\n" }, keepOne));
    expect((await runShip(["--config", green])).code).toBe(0);
    await configFor("green", await release("g2", "2.0.0", { "app.txt": "green 2\n" }, keepOne));
    expect((await runShip(["--config", green])).code).toBe(0);
    const greenBackups = JSON.parse(
      (await runShip(["--config", green, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string | null;
    }[];
    const greenToV1 = greenBackups.find((b) => b.version === "1.0.0");
    expect(greenToV1).toBeDefined();

    // Blue installs twice with keep_backups 1: its pruning leaves green's backups alone.
    expect((await runShip(["--config", blue])).code).toBe(0);
    await configFor("blue", await release("b2", "2.0.0", { "app.txt": "blue 2\n" }, keepOne));
    expect((await runShip(["--config", blue])).code).toBe(0);
    const listed = await runShip(["--config", blue, "--list-backups", "--json"]);
    const blueBackups = JSON.parse(listed.stdout) as { id: string; appDir: string }[];
    expect(blueBackups.map((b) => b.appDir)).toEqual([join(root, "blue/app")]);
    expect(listed.stderr).toContain(
      `restore ${join(root, "green/app")}, which no source of this config installs into (another config sharing backup_dir made them, or app_dir was changed since): not listed`,
    );
    expect(
      (
        JSON.parse((await runShip(["--config", green, "--list-backups", "--json"])).stdout) as {
          id: string;
        }[]
      ).map((b) => b.id),
    ).toEqual(greenBackups.map((b) => b.id));

    // Blue cannot restore green's app: refused naming the key, nothing changed on either side.
    const blueState = await readFile(join(root, "blue/state.json"), "utf8");
    const refused = await runShip(["--config", blue, "--rollback", greenToV1?.id ?? ""]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(
      `sources.myapp.app_dir: is ${join(root, "blue/app")}, but backup ${greenToV1?.id}`,
    );
    expect(await readFile(join(root, "green/app/app.txt"), "utf8")).toBe("green 2\n");
    expect(await readFile(join(root, "blue/state.json"), "utf8")).toBe(blueState);

    // Green's own rollback works.
    const rollback = await runShip(["--config", green, "--rollback", greenToV1?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await readFile(join(root, "green/app/app.txt"), "utf8")).toBe("green 1\n");
    expect(await readFile(join(root, "blue/app/app.txt"), "utf8")).toBe("blue 2\n");

    // What green's restore set aside (a file edited by hand since the update) is green's too: blue's
    // keep_backups deleted it (the folder recorded no app_dir) and blue's listing named it.
    await configFor("green", await release("g3", "3.0.0", { "app.txt": "green 3\n" }, keepOne));
    expect((await runShip(["--config", green])).code).toBe(0);
    await writeFile(join(root, "green/app/app.txt"), "edited by hand\n");
    const [toV1Again] = JSON.parse((await runShip(["--config", green, "--list-backups", "--json"])).stdout);
    const leftAlone = await runShip(["--config", green, "--rollback", toV1Again.id]);
    expect(leftAlone.code, leftAlone.stderr).toBe(0);
    const aside = /previous versions are in (\S+)/.exec(leftAlone.stdout)?.[1] ?? "";
    expect(aside).toMatch(/\.unrestored$/);
    await configFor("blue", await release("b3", "3.0.0", { "app.txt": "blue 3\n" }, keepOne));
    expect((await runShip(["--config", blue])).code).toBe(0);
    expect(await readFile(join(aside, "app.txt"), "utf8")).toBe("green 1\n");
    expect((await runShip(["--config", blue, "--list-backups"])).stdout).not.toContain(aside);
    expect((await runShip(["--config", green, "--list-backups"])).stdout).toContain(aside);
  });

  it("a restore that stops half-way says so (exit 3, state restore_failed) and --recover finishes it", async () => {
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n", "a.txt": "a1\n", "b.txt": "b1\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "a.txt": "a2\n", "b.txt": "b2\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const toV1 = (await backups()).find((b) => b.version === "1.0.0");
    const stopped = await runShip(["--config", config, "--rollback", toV1?.id ?? ""], {
      env: { SHIP_FAULT: "restore:file@2:error" },
    });
    expect(stopped.code, stopped.stderr).toBe(3);
    expect(stopped.stderr).toContain("myapp: RESTORE STOPPED HALF-WAY — injected fault at restore:file");
    expect(stopped.stderr).toContain("run `ship --recover` to finish the restore");
    expect(await state()).toMatchObject({ current_version: "2.0.0", last_result: "restore_failed" });
    // A recovery that stops too names the app once ("myapp: myapp: RESTORE STOPPED…" before).
    const again = await runShip(["--config", config, "--recover"], {
      env: { SHIP_FAULT: "restore:file@1:error" },
    });
    expect(again.code, again.stdout + again.stderr).toBe(3);
    expect(again.stdout).toContain("myapp: RESTORE STOPPED HALF-WAY");
    expect(again.stdout).not.toContain("myapp: myapp:");
    const recovered = await runShip(["--config", config, "--recover"]);
    expect(recovered.code, recovered.stderr).toBe(0);
    for (const [file, body] of [
      ["app.py", "v1\n"],
      ["a.txt", "a1\n"],
      ["b.txt", "b1\n"],
    ] as const)
      expect(await readFile(join(root, "app", file), "utf8")).toBe(body);
    expect(await state()).toMatchObject({
      current_version: "1.0.0",
      last_result: "rolled_back",
      last_error: null,
    });
  });

  it("a rollback killed half-way is finished by --recover, and the state follows what is on disk", async () => {
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n", "a.txt": "a1\n", "b.txt": "b1\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "a.txt": "a2\n", "b.txt": "b2\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const toV1 = (await backups()).find((b) => b.version === "1.0.0");
    const killed = await runShip(["--config", config, "--rollback", toV1?.id ?? ""], {
      env: { SHIP_FAULT: "restore:file@1" },
    });
    expect(killed.code).toBeNull();
    const recovered = await runShip(["--config", config, "--recover"]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stdout.trim()).toBe("myapp: restored 1.0.0 (finished an interrupted restore)");
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v1\n");
    expect(await state()).toMatchObject({
      current_version: "1.0.0",
      last_result: "rolled_back",
      last_error: null,
    });
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stdout).toBe(100);
  });

  // Two sources filling one app_dir, the other first in ship.toml: recovery took the first source's
  // name, so myapp's state kept the undone 2.0.0 beside 1.0.0's files and `other` read "rolled_back".
  // Journals an older ship wrote (no `source`) go by the backup's name.
  for (const [journalFrom, by] of [
    ["this ship", "--recover"],
    ["an older ship", "--recover"],
    ["this ship", "the other source's run"],
  ] as const)
    it(`a rollback killed half-way in an app_dir two sources fill is finished by ${by} into its own source's state (journal of ${journalFrom})`, async () => {
      const other = await release("w", "5.0.0", { "w.txt": "w\n" });
      const twoSources = async (dir: string) => {
        await writeFile(
          config,
          `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.other]\ntype = "local"\npath = "${other}"\napp_dir = "${root}/app"\n\n[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${root}/app"\n`,
        );
      };
      await twoSources(await release("r1", "1.0.0", { "app.py": "v1\n", "a.txt": "a1\n" }));
      expect((await runShip(["--config", config, "--sources", "myapp"])).code).toBe(0);
      await twoSources(await release("r2", "2.0.0", { "app.py": "v2\n", "a.txt": "a2\n" }));
      expect((await runShip(["--config", config, "--sources", "myapp"])).code).toBe(0);
      const toV1 = (await backups()).find((b) => b.version === "1.0.0");
      const killed = await runShip(["--config", config, "--rollback", toV1?.id ?? ""], {
        env: { SHIP_FAULT: "restore:file@1" },
      });
      expect(killed.code).toBeNull();
      const [appState] = await readdir(join(root, "var/apps"));
      const journalFile = join(root, "var/apps", appState ?? "", "journal.json");
      const journal = JSON.parse(await readFile(journalFile, "utf8")) as Record<string, unknown>;
      expect(journal).toMatchObject({ kind: "restore", source: "myapp" });
      if (journalFrom === "an older ship") {
        delete journal.source;
        await writeFile(journalFile, JSON.stringify(journal));
      }
      const before = JSON.parse(await readFile(join(root, "var/state.json"), "utf8")).sources.other;

      if (by === "--recover") {
        const recovered = await runShip(["--config", config, "--recover"]);
        expect(recovered.code, recovered.stderr).toBe(0);
        expect(recovered.stdout.trim()).toBe("myapp: restored 1.0.0 (finished an interrupted restore)");
      } else {
        // Its manifest broken, `other`'s run installs nothing: only its recovery of myapp's restore
        // is looked at (installing would replace myapp's files, as the README warns).
        await writeFile(join(other, "update-manifest.yaml"), "version: [\n");
        const run = await runShip(["--config", config, "--sources", "other"]);
        expect(run.stderr).toContain("restored 1.0.0 (finished an interrupted restore)");
      }
      expect(await files(join(root, "app"))).toEqual({ "a.txt": "a1\n", "app.py": "v1\n" });
      expect(await state()).toMatchObject({
        current_version: "1.0.0",
        previous_version: "2.0.0",
        last_result: "rolled_back",
      });
      if (by === "--recover")
        expect(JSON.parse(await readFile(join(root, "var/state.json"), "utf8")).sources.other).toEqual(
          before,
        );
    });

  it("a rollback across two backups killed between its restores is finished by --recover, never left on the version in between", async () => {
    const marker = join(root, "hooks.log");
    const extra = (v: string) => `hooks:\n  rollback:\n    - sh -c 'echo undo-${v} >> ${marker}'\n`;
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n", "a.txt": "a1\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "a.txt": "a2\n" }, extra("2.0.0")));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("r3", "3.0.0", { "app.py": "v3\n", "b.txt": "b3\n" }, extra("3.0.0")));
    expect((await runShip(["--config", config])).code).toBe(0);
    const toV1 = (await backups()).find((b) => b.version === "1.0.0");
    const killed = await runShip(["--config", config, "--rollback", toV1?.id ?? ""], {
      env: { SHIP_FAULT: "rollback:between-restores" },
    });
    expect(killed.code, killed.stderr).toBeNull();
    // The kill came after 3.0.0 was undone: the app is on 2.0.0, which nobody asked for.
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v2\n");
    expect(await readFile(marker, "utf8")).toBe("undo-3.0.0\n");

    const recovered = await runShip(["--config", config, "--recover"]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stdout.trim()).toBe(
      "myapp: finished the interrupted rollback to 1.0.0 (1 more backup restored)",
    );
    expect(await files(join(root, "app"))).toEqual({ "a.txt": "a1\n", "app.py": "v1\n" });
    // The resumed restore ran the hooks of the release it undid, as the rollback would have.
    expect(await readFile(marker, "utf8")).toBe("undo-3.0.0\nundo-2.0.0\n");
    expect(await state()).toMatchObject({
      current_version: "1.0.0",
      last_result: "rolled_back",
      last_error: null,
    });
    const again = await runShip(["--config", config, "--recover"]);
    expect(again.stdout.trim()).toBe("myapp: nothing to recover");
  });

  // The killed run said nothing of a file whose other name keeps the undone content: the resumed
  // restore is the only one left to say it, as `ship --rollback` does. It said nothing.
  it("a chained rollback finished by --recover warns of a file whose other name keeps the undone content", async () => {
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n", "a.txt": "a1\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "a.txt": "a2\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    // Linked at 2.0.0; 3.0.0 splits it and the first restore joins it again: 2.0.0's file has two
    // names when the resumed restore takes the app's.
    await link(join(root, "app/a.txt"), join(root, "a.link"));
    await useRelease(await release("r3", "3.0.0", { "app.py": "v3\n", "a.txt": "a3\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const toV1 = (await backups()).find((b) => b.version === "1.0.0");
    const killed = await runShip(["--config", config, "--rollback", toV1?.id ?? ""], {
      env: { SHIP_FAULT: "rollback:between-restores" },
    });
    expect(killed.code, killed.stderr).toBeNull();
    expect((await stat(join(root, "a.link"))).ino).toBe((await stat(join(root, "app/a.txt"))).ino);

    const recovered = await runShip(["--config", config, "--recover"]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(await files(join(root, "app"))).toEqual({ "a.txt": "a1\n", "app.py": "v1\n" });
    expect(await readFile(join(root, "a.link"), "utf8")).toBe("a2\n");
    expect(recovered.stderr).toContain(
      "so the other names keep the undone version's content: a.txt had 2 names (1 other); ln -f them",
    );
  });

  it("a chained rollback killed between its restores is finished by the next timer run before it updates", async () => {
    await useRelease(await release("r1", "1.0.0", { "app.py": "v1\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("r2", "2.0.0", { "app.py": "v2\n", "two.txt": "2\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const r3 = await release("r3", "3.0.0", { "app.py": "v3\n", "three.txt": "3\n" });
    await useRelease(r3);
    expect((await runShip(["--config", config])).code).toBe(0);
    const toV1 = (await backups()).find((b) => b.version === "1.0.0");
    const killed = await runShip(["--config", config, "--rollback", toV1?.id ?? "", "--no-hooks"], {
      env: { SHIP_FAULT: "rollback:between-restores" },
    });
    expect(killed.code).toBeNull();
    const run = await runShip(["--config", config, "--force"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr + run.stdout).toContain("finished the interrupted rollback to 1.0.0");
    // The update then applied to 1.0.0 as recorded: 2.0.0's two.txt is gone, 3.0.0 is installed whole.
    expect(await files(join(root, "app"))).toEqual({ "app.py": "v3\n", "three.txt": "3\n" });
    expect(await state()).toMatchObject({ current_version: "3.0.0" });
    expect((await backups()).map((b) => b.version)).toEqual(["1.0.0", null]);
  });

  it("runs the undone release's rollback hooks (its own script, in $SHIP_RELEASE_DIR) and notifies; --no-hooks skips the hooks", async () => {
    const hook = await receiver();
    try {
      const marker = join(root, "hooks.log");
      const script = (who: string) =>
        `echo "${who} $SHIP_VERSION->$SHIP_PREVIOUS_VERSION app=$(cat "$SHIP_APP_DIR/app.py")" >> ${marker}\n`;
      const extra = `hooks:\n  rollback:\n    - sh scripts/rollback.sh\nrollback:\n  custom_rollback_command: sh "$SHIP_RELEASE_DIR/scripts/rollback.sh"\nnotifications:\n  on_failure:\n    - type: webhook\n      url: ${hook.url}\n      message: "{app} {version}: {error}"\n`;
      await useRelease(
        await release("r1", "1.0.0", { "app.py": "v1\n", "scripts/rollback.sh": script("v1-script") }),
      );
      expect((await runShip(["--config", config])).code).toBe(0);
      await useRelease(
        await release("r2", "2.0.0", { "app.py": "v2\n", "scripts/rollback.sh": script("v2-script") }, extra),
      );
      expect((await runShip(["--config", config])).code).toBe(0);

      const toV1 = (await backups()).find((b) => b.version === "1.0.0");
      const rollback = await runShip(["--config", config, "--rollback", toV1?.id ?? ""]);
      expect(rollback.code, rollback.stderr).toBe(0);
      expect(await readFile(marker, "utf8")).toBe(
        "v2-script 2.0.0->1.0.0 app=v1\nv2-script 2.0.0->1.0.0 app=v1\n",
      );
      expect(hook.bodies).toHaveLength(1);
      expect(hook.bodies[0]).toMatchObject({ app: "myapp", version: "2.0.0", status: "failure" });
      expect(String(hook.bodies[0]?.message)).toContain("rolled back to 1.0.0");

      // Again, without hooks: files restored, the hooks do not run, the notification still goes out.
      expect((await runShip(["--config", config])).code).toBe(0);
      await rm(marker);
      const again = (await backups()).find((b) => b.version === "1.0.0");
      const quiet = await runShip(["--config", config, "--rollback", again?.id ?? "", "--no-hooks"]);
      expect(quiet.code, quiet.stderr).toBe(0);
      expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v1\n");
      await expect(readFile(marker, "utf8")).rejects.toThrow();
      expect(hook.bodies).toHaveLength(2);
    } finally {
      await hook.close();
    }
  });

  it("reads the install index only for what the update changed: entries elsewhere are never parsed", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`lib/f${i}.txt`] = `unchanged ${i}\n`;
    await useRelease(await release("r1", "1.0.0", { ...files, "app.py": "v1\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    await useRelease(await release("r2", "2.0.0", { ...files, "app.py": "v2\n", "new.txt": "added\n" }));
    expect((await runShip(["--config", config])).code).toBe(0);
    const [undo] = (await backups()).filter((b) => b.version === "1.0.0");
    // Spoil the index entries of files the update did not touch: a rollback that parsed the whole
    // index (as it did, three times over) fails on them; one that costs what changed never looks.
    const appState = join(root, "var/apps", (await readdir(join(root, "var/apps")))[0] ?? "");
    const indexFile = join(appState, "install-index.json");
    // An index written as the update's changes keeps those entries in its base (install-index.ts),
    // a second name of the backup's saved index: replaced, not written through.
    const head = JSON.parse(await readFile(indexFile, "utf8"));
    const spoiled = head.base === undefined ? indexFile : join(appState, head.base.name);
    // Its entries' last byte flipped: a read of them refuses the file (its checksum).
    const index = await readFile(spoiled);
    index[index.length - 1] = (index[index.length - 1] ?? 0) ^ 0xff;
    await rm(spoiled);
    await writeFile(spoiled, index);

    const rolled = await runShip(["--config", config, "--rollback", undo?.id ?? ""]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.py"), "utf8")).toBe("v1\n");
    await expect(readFile(join(root, "app/new.txt"), "utf8")).rejects.toThrow();
    expect(await readFile(join(root, "app/lib/f7.txt"), "utf8")).toBe("unchanged 7\n");
    expect(await state()).toMatchObject({ current_version: "1.0.0" });
  });
});
