/**
 * Keeps restores and undos inside the app directory. An operator may replace a directory ship
 * installed with a symlink to a shared place (the Capistrano layout: app/storage → /srv/shared/storage);
 * writing or deleting "storage/x" would then reach through the link into files ship never installed.
 * Every path is checked just before it is touched: each existing directory on the way must be a real
 * directory (not a symlink, not a file, not a mount point: `mount --bind /srv/shared app/storage`
 * reaches outside as the link does, and a restore's rmdir of it stopped half-way with EBUSY after
 * writing into the shared place). Missing directories are fine: ship creates them itself.
 */
import { join } from "node:path";
import { mountPointsIn } from "../tree/dir-names.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { realDir } from "../tree/path-on-disk.js";

export class ConfinedPaths {
  /** Directories (relative) seen as real directories; only ship's own rmdir changes them meanwhile. */
  private readonly realDirs = new Set<string>();
  /** Mount points inside the app (relative), read once: a restore or undo does not mount. */
  private mounts: Set<string> | undefined;

  constructor(readonly appDir: string) {}

  /** True when touching `rel` cannot leave the app directory through a symlinked (or non-)directory. */
  async reachable(rel: string): Promise<boolean> {
    return (await this.blocker(rel)) === undefined;
  }

  /**
   * The first directory on the way to `rel` that is not a real directory, and what stands there
   * instead: a symlink (to anywhere) or something else (a file the operator put where ship had
   * installed a directory). Undefined when `rel` is reachable.
   */
  async blocker(rel: string): Promise<{ dir: string; symlink: boolean } | undefined> {
    const parts = rel.split("/");
    let dir = "";
    for (let i = 0; i < parts.length - 1; i++) {
      dir = dir === "" ? (parts[i] as string) : `${dir}/${parts[i]}`;
      if (this.realDirs.has(dir)) continue;
      const stat = lstatOrUndefined(join(this.appDir, dir));
      if (stat === undefined) return undefined; // missing from here down: created by ship, inside the app
      if (!stat.isDirectory()) return { dir, symlink: stat.isSymbolicLink() }; // never go through it
      if (this.isMountPoint(dir)) return { dir, symlink: true }; // leads outside as a link does
      this.realDirs.add(dir);
    }
    // A file or directory mounted at `rel` itself is another place's too: replacing or removing it
    // failed half-way (EBUSY), and an equal copy bound over ship's config.ini was taken for ship's.
    if (this.isMountPoint(rel)) return { dir: rel, symlink: true };
    return undefined;
  }

  /** Whether `rel` itself is a real directory inside the app (not a symlink to one). */
  async isRealDir(rel: string): Promise<boolean> {
    if (!(await this.reachable(rel))) return false;
    const stat = lstatOrUndefined(join(this.appDir, rel));
    return stat?.isDirectory() === true && !this.isMountPoint(rel);
  }

  private isMountPoint(rel: string): boolean {
    this.mounts ??= mountPointsIn(realDir(this.appDir));
    return this.mounts.has(rel);
  }

  /** Ship removed the directory `rel`: forget what was known about it and below. */
  forget(rel: string): void {
    for (const dir of this.realDirs) if (dir === rel || dir.startsWith(`${rel}/`)) this.realDirs.delete(dir);
  }
}
