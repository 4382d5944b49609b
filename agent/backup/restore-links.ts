/**
 * App files with more than one name (hard links) that a restore takes a name from: it renames the
 * saved file over the app's name, or deletes a file the undone update added. Other names of that
 * file (a config the operator linked into /etc after the update) keep the undone version's content,
 * as an update leaves the old content under them (apply/hard-links.ts), which says so; a rollback
 * said nothing. The restore's own names are not "other": every name it takes keeps a second name
 * under the backup's `undone/` until the backup is discarded.
 */
import { join } from "node:path";
import { isFileMode, lstatLiteOrUndefined } from "../tree/lstat-lite.js";
import { shownPath } from "./unrestored.js";

/** A file whose other names keep the undone version's content. */
export interface UndoneLink {
  /** The app's name the restore took (the first by name, when it took several of one file). */
  file: string;
  /** How many names the file had, the app's names the restore took included. */
  names: number;
  /** Names the restore left: outside the app, or app paths the undone update did not touch. */
  others: number;
}

export class LinkedNames {
  private readonly files = new Map<string, { rels: string[]; names: number }>();

  /** Before the restore takes the app's name `rel` (at `path`) from ship's file. */
  note(path: string, rel: string): void {
    // Numbers only (lstat-lite.ts): called for every path a rollback takes back.
    const stat = lstatLiteOrUndefined(path);
    if (stat === undefined || !isFileMode(stat.mode) || stat.nlink < 2) return;
    const key = `${stat.dev}:${stat.ino}`;
    const known = this.files.get(key);
    if (known === undefined) this.files.set(key, { rels: [rel], names: stat.nlink });
    else {
      known.rels.push(rel);
      known.names = Math.max(known.names, stat.nlink);
    }
  }

  /**
   * Once every name is taken: the files with names left that are not the rollback's own. `ownDirs`
   * (the backup's `undone/` first, then the rollback hooks' kept release) hold the rollback's names
   * at the paths `taken` (the backup's added and changed paths). One lstat per taken path and
   * directory, and only when a file with several names was noted.
   */
  othersKeeping(ownDirs: readonly string[], taken: readonly string[]): UndoneLink[] {
    if (this.files.size === 0) return [];
    const own = new Map<string, { count: number; nlink: number }>();
    for (const dir of ownDirs)
      for (const rel of taken) {
        const stat = lstatLiteOrUndefined(join(dir, rel));
        const key = `${stat?.dev}:${stat?.ino}`;
        if (stat === undefined || !this.files.has(key)) continue;
        own.set(key, { count: (own.get(key)?.count ?? 0) + 1, nlink: stat.nlink });
      }
    const out: UndoneLink[] = [];
    for (const [key, { rels, names }] of this.files) {
      const kept = own.get(key);
      // No name of the rollback's left (a backup on another filesystem: each taken name was
      // deleted), so the count seen before the first one went says it.
      const others = kept === undefined ? names - rels.length : kept.nlink - kept.count;
      if (others > 0) out.push({ file: [...rels].sort()[0] as string, names: others + rels.length, others });
    }
    return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }
}

/** One file in words: "config.toml had 2 names (1 other)". */
export function undoneLinkText(link: UndoneLink, shown: (rel: string) => string = (rel) => rel): string {
  return `${shown(link.file)} had ${link.names} names (${link.others} other${link.others === 1 ? "" : "s"})`;
}

/**
 * Said as an update says its own split links: an operator who linked a config into /etc finds out,
 * at the terminal (`ship --rollback`) and at the hub (a daemon's rollback) alike.
 */
export function undoneLinksWarning(linked: readonly UndoneLink[]): string {
  const named = linked.slice(0, 5).map((link) => undoneLinkText(link, shownPath));
  const more = linked.length > 5 ? ` and ${linked.length - 5} more (the log lists them all)` : "";
  return `restored ${linked.length} file(s) that had more than one name (hard links) under the app's name only, so the other names keep the undone version's content: ${named.join(", ")}${more}; ln -f them to the app's file if they should have the restored content`;
}
