/**
 * Every name one directory has on this host. A symlink, `..` or a trailing slash is undone by
 * following the path on disk (realDir, pathOnDisk); a bind mount is not: `/srv/app` bound at
 * `/var/www/app` gives two real paths of one directory, and no lookup of either path leads to the
 * other. The mount table does: each mount says which directory of its file system it shows (its
 * root) and where (its mount point), so the same place seen through every other mount of that file
 * system is a name of it too. ship compares its own paths (app_dir against its record of what it
 * installed, backup_dir, work_dir and the state directory against the apps) through these names:
 * before, an app_dir changed to a bound path lost ship's record of what is installed, and a
 * backup_dir bound inside an app was not refused.
 */
import { readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

interface Mount {
  /** The mount's id, and the id of the mount it was made on (its mount point is in that one). */
  id: string;
  parent: string;
  /** The file system (major:minor): bind mounts of one file system share it. */
  device: string;
  /** The directory of that file system the mount shows. */
  root: string;
  /** Where it shows it. */
  point: string;
}

/** mountinfo writes a space, tab, newline and backslash in a path as `\ooo`. */
function unescaped(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The table read in this synchronous stretch of work: see mounts(). */
let lastRead: Mount[] | undefined;

/**
 * The mounts of this process's namespace, in the order mounted; none where /proc is not Linux's.
 * Read once per synchronous stretch of work: the start's checks of every configured path against
 * every app asked ~30 times in one update, each a read and parse of the whole table (hundreds of
 * lines on a container host). Dropped at the next microtask, so a later check (the apply's, after
 * hooks that may mount) reads the table afresh.
 */
function mounts(): Mount[] {
  if (lastRead !== undefined) return lastRead;
  lastRead = readMounts();
  queueMicrotask(() => {
    lastRead = undefined;
  });
  return lastRead;
}

function readMounts(): Mount[] {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const [id, parent, device, root, point] = fields;
    if (
      id === undefined ||
      parent === undefined ||
      device === undefined ||
      root === undefined ||
      point === undefined
    )
      continue;
    out.push({ id, parent, device, root: unescaped(root), point: unescaped(point) });
  }
  return out;
}

/** `path` is `dir` or inside it (both absolute and resolved). */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

/**
 * The mount `path` is seen through, walked as the kernel does from the root mount down: at each
 * directory on the way, a mount made on the one reached so far at that directory (then one made on
 * that, for mounts stacked there). The deepest mount point on the way is not it: a later mount over a
 * parent (`mount --bind /srv/volume app` after `app/storage` was bound) hides the mounts beneath it,
 * whose mount points are then plain directories of the new one — taken as mount points, an update
 * writing there was refused for a mount nobody could reach.
 */
function hostMount(all: readonly Mount[], path: string): Mount | undefined {
  const on = mountsOn(all);
  const passed = new Set<Mount>();
  let found: Mount | undefined;
  const parts = path.split("/").filter((part) => part !== "");
  for (let depth = 0; depth <= parts.length; depth++) {
    const point = `/${parts.slice(0, depth).join("/")}`;
    for (let over = on(found, point); over !== undefined && !passed.has(over); over = on(found, point)) {
      passed.add(over);
      found = over;
    }
  }
  return found;
}

/** The mount made last at `point` on `below`. */
type MountsOn = (below: Mount | undefined, point: string) => Mount | undefined;

/** Per mount table read, so asking for every mount's host walks the table once. */
const indexes = new WeakMap<readonly Mount[], MountsOn>();

function mountsOn(all: readonly Mount[]): MountsOn {
  let on = indexes.get(all);
  if (on !== undefined) return on;
  const ids = new Set(all.map((mount) => mount.id));
  const made = new Map<string, Mount>();
  // A mount whose parent is not in the table (the root mount's is outside the namespace or chroot,
  // or is itself) is taken as made on whatever is reached at its point: never left out of the walk,
  // so no mount point is missed.
  const orphans = new Map<string, Mount>();
  for (const mount of all)
    if (ids.has(mount.parent) && mount.parent !== mount.id) made.set(`${mount.parent} ${mount.point}`, mount);
    else orphans.set(mount.point, mount);
  on = (below, point) =>
    (below === undefined ? undefined : made.get(`${below.id} ${point}`)) ?? orphans.get(point);
  indexes.set(all, on);
  return on;
}

function identity(path: string): string | undefined {
  try {
    const stat = statSync(path, { bigint: true, throwIfNoEntry: false });
    return stat === undefined ? undefined : `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The names of the directory at `onDisk` (a path with its symlinks already followed): itself first,
 * then the same place through every other mount of its file system that shows it and is not
 * covered by a later mount. A path not created yet gets the names its parent's mounts give it.
 */
export function dirNames(onDisk: string): string[] {
  const path = resolve(onDisk);
  const all = mounts();
  const host = hostMount(all, path);
  if (host === undefined) return [path];
  const inFs = join(host.root, relative(host.point, path));
  const id = identity(path);
  const names = [path];
  for (const mount of all) {
    if (mount.device !== host.device || !isWithin(inFs, mount.root)) continue;
    const name = join(mount.point, relative(mount.root, inFs));
    if (names.includes(name) || hostMount(all, name) !== mount) continue;
    // An existing directory is taken by its identity too: a mount table read as the mounts changed
    // names nothing it does not show.
    if (id !== undefined && identity(name) !== id) continue;
    names.push(name);
  }
  return names;
}

/** Whether `a` and `b` (already followed on disk) name one directory. */
export function sameNamedDir(a: string, b: string): boolean {
  const others = dirNames(b);
  return dirNames(a).some((name) => others.includes(name));
}

/**
 * The mount points strictly inside the directory at `onDisk` (already followed on disk), relative
 * to it, under any of its names. A directory mounted there (`mount --bind /srv/shared app/storage`)
 * holds another place's files, as a symlinked one does: what ship writes or deletes through it is
 * outside the app.
 */
export function mountPointsIn(onDisk: string): Set<string> {
  const inside = new Set<string>();
  const names = dirNames(onDisk);
  const all = mounts();
  for (const mount of all) {
    // A mount hidden by a later one over a parent is no mount point: its path is the later one's.
    if (hostMount(all, mount.point) !== mount) continue;
    for (const name of names)
      if (mount.point !== name && isWithin(mount.point, name)) inside.add(relative(name, mount.point));
  }
  return inside;
}
