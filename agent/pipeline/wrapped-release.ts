/**
 * A release packed with its top directory: no manifest (one there makes that directory the release
 * root, extract.ts), nothing at its root but one directory, and none of the files ship installed in
 * the app inside it. `tar -czf myapp-2.0.0.tar.gz myapp-2.0.0`, GitHub's archive of a tag, or a
 * local `path` naming the directory above the release. Installed, it dropped every file ship had
 * installed (the app's code, its merged configs) and put the release one level down, exit 0 "updated".
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { VerificationError } from "../../shared/errors.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { readInstallIndex } from "../apply/install-index.js";

export async function refuseWrapped(
  releaseDir: string,
  where: string,
  appDir: string,
  appStateDir: string,
): Promise<void> {
  const entries = await readdir(releaseDir, { withFileTypes: true });
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only === undefined || !only.isDirectory()) return;
  // Nothing installed by ship yet (or its record lost): nothing the release would take away.
  const installed = (await readInstallIndex(appStateDir))?.files;
  const prefix = `${only.name}/`;
  if (
    installed === undefined ||
    installed.size === 0 ||
    [...installed.keys()].some((rel) => rel.startsWith(prefix))
  )
    return;
  throw new VerificationError(
    "release packed with its top directory",
    `${where} has no ${MANIFEST_FILENAME} and holds only the directory ${prefix}: installing it would remove every file ship installed in ${appDir} and put the release one level down, in ${join(appDir, only.name)} (pack what is inside it: tar -czf ARCHIVE -C ${only.name} .; or add ${prefix}${MANIFEST_FILENAME}, which makes it the release root); nothing was installed`,
  );
}
