/** Reads update-manifest.yaml out of a release archive without unpacking anything else. */
import { list, type ReadEntry } from "tar";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";

const MAX_MANIFEST_BYTES = 1_000_000;

/** At the root or directly under the single top-level directory, where agents look for it. */
function isManifestPath(path: string): boolean {
  const parts = path.replace(/^\.\//, "").split("/");
  return parts[parts.length - 1] === MANIFEST_FILENAME && parts.length <= 2;
}

/**
 * The manifests `archive` holds where agents look, after reading it whole. Strict: node-tar only
 * warns about bytes that are no tar (a text file, a .zip) and lists nothing, so such a file read
 * as "has no update-manifest.yaml", and with --manifest it was published, for every agent to fail.
 */
async function manifestsIn(archive: string): Promise<Buffer[][]> {
  const found: Buffer[][] = [];
  await list({
    file: archive,
    strict: true,
    filter: (path) => isManifestPath(path),
    onReadEntry: (entry: ReadEntry) => {
      if (entry.type !== "File" || entry.size > MAX_MANIFEST_BYTES) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      found.push(chunks);
      entry.on("data", (chunk: Buffer) => chunks.push(chunk));
    },
  }).catch((e: unknown) => {
    // A missing or unreadable file is named as such, not as a bad archive with Node's raw errno.
    if (errnoCode(e) !== undefined) throw BadInputError.single(archive, "", `cannot read: ${fsErrorText(e)}`);
    throw BadInputError.single(
      archive,
      "",
      `is not a readable tar archive: ${(e as Error).message} (agents install .tar.gz, .tgz and .tar)`,
    );
  });
  return found;
}

export async function readManifestFromArchive(archive: string): Promise<string> {
  const found = await manifestsIn(archive);
  if (found.length !== 1) {
    const why = found.length === 0 ? `has no ${MANIFEST_FILENAME}` : `has ${found.length} manifests`;
    throw BadInputError.single(archive, "", `${why}; pass --manifest FILE`);
  }
  return Buffer.concat(found[0] ?? []).toString("utf8");
}

/** Refuses an archive no agent could unpack, when the manifest comes from elsewhere (--manifest). */
export async function checkReleaseArchive(archive: string): Promise<void> {
  await manifestsIn(archive);
}
