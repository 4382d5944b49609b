/**
 * Old versions a restore could not put back (the path now holds someone else's file, or lies behind
 * a symlink) are kept beside the consumed backup, never dropped: `<backup>.unrestored/<path>`. Having
 * no meta.json, the directory is never listed or restored as a backup.
 */
export function unrestoredDir(backupPath: string): string {
  return `${backupPath}.unrestored`;
}
