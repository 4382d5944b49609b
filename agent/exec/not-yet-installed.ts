/**
 * The seed's `python3 scripts/check_db.py` (an environment check) or `python3
 * scripts/pre_update_check.py` (a pre_update hook), with the script new in this release: both run
 * before the apply, in the app directory, where it is not yet. They failed with "can't open file"
 * on every run, the update blocked, and nothing said why.
 */
import { access } from "node:fs/promises";
import { isAbsolute, join } from "node:path";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * "; PATH comes with this release and is not installed yet: …" for the first relative path of
 * `command` that the app directory lacks and the release holds, else "".
 */
export async function notYetInstalled(
  command: string,
  appDir: string,
  releaseDir: string | undefined,
  what: string,
): Promise<string> {
  if (releaseDir === undefined) return "";
  const paths = command
    .split(/\s+/)
    .map((word) => word.replace(/^["']|["']$/g, ""))
    .filter((word) => word.includes("/") && !isAbsolute(word) && !/^[-$~]/.test(word));
  for (const path of paths) {
    if (!(await exists(join(appDir, path))) && (await exists(join(releaseDir, path))))
      return `; ${path} comes with this release and is not installed yet: ${what} before the apply, in the app directory, so they may only use what the app or the host has (run the new script from a post_update hook or post_update_test instead)`;
  }
  return "";
}
