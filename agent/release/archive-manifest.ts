/** Reads update-manifest.yaml out of a release archive without unpacking anything else. */
import { list, type ReadEntry } from "tar";
import { BadInputError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { manifestText } from "../../shared/manifest/load.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { sizeText } from "../../shared/size-text.js";
import { ManifestPlace } from "../archive/manifest-place.js";
import { manifestInside } from "../sources/release-info.js";
import { refuseWhatAgentsRefuse } from "./agents-extract.js";
import { ALLOW_PRIVATE_KEY_FLAG, holdsPrivateKey, MAX_KEY_FILE_BYTES } from "./private-keys.js";

const MAX_MANIFEST_BYTES = 1024 * 1024;

/** What an archive holds that `sign` and `publish` care about, from one read of it. */
interface ArchiveScan {
  /** The manifest agents install, read by a second pass (none when the archive has none). */
  manifests: Buffer[][];
  /** Entries (as the archive names them) that hold a private key. */
  privateKeys: string[];
  /** The size of the manifest agents install when it is too large to read, if so. */
  oversized?: number;
  /** What stands where agents look for a manifest when it is no file (a link, a directory). */
  notFile?: string;
}

/** A tar entry that is no regular file, in the words an operator knows it by. */
function entryKind(entry: Pick<ReadEntry, "type" | "linkpath">): string {
  const to = entry.linkpath ? ` to ${entry.linkpath}` : "";
  if (entry.type === "SymbolicLink") return `a symbolic link${to}`;
  if (entry.type === "Link") return `a hard link${to}`;
  if (entry.type === "Directory") return "a directory";
  return `a ${entry.type} entry`;
}

/** The latest entry of one name read so far: what a hard link to that name stands for. */
interface NamedEntry {
  type: ReadEntry["type"];
  linkpath: string;
  number: number;
}

/** Hops a chain of hard links may take (tar writes each later name of a file as a link to the first). */
const MAX_LINK_HOPS = 16;

/**
 * The number of the file entry a hard link to `target` stands for, as the agents' extraction finds
 * it (tree-writer.ts: a file written before the link, through links to links), or why agents refuse it.
 */
function linkedFile(target: string, before: ReadonlyMap<string, NamedEntry>): number | string {
  let name = normalEntry(target);
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    const found = before.get(name);
    if (found?.type === "File") return found.number;
    if (found === undefined) return `no file ${name} is packed before it`;
    if (found.type !== "Link") return `${name} is ${entryKind(found)}`;
    name = normalEntry(found.linkpath);
  }
  return `more than ${MAX_LINK_HOPS} hard links lead on from one to the next`;
}

/**
 * The manifest `archive` holds where agents find it (manifest-place.ts, the rule their extraction
 * follows), and the files holding a private key, after reading it whole. Strict: node-tar only
 * warns about bytes that are no tar (a text file, a .zip) and lists nothing, so such a file read as
 * "has no update-manifest.yaml", and with --manifest it was published, for every agent to fail.
 */
async function scanArchive(archive: string): Promise<ArchiveScan> {
  const scan: ArchiveScan = { manifests: [], privateKeys: [] };
  const place = new ManifestPlace();
  const named = new Map<string, NamedEntry>();
  /** For each entry that may be the manifest: the file entry agents extract it as, or what it is. */
  const manifestFile = new Map<number, number | string>();
  await listStrict(archive, (entry: ReadEntry) => {
    const at = place.see(entry.path, entry.type, entry.linkpath);
    const name = normalEntry(entry.path);
    if (name === MANIFEST_FILENAME || name.endsWith(`/${MANIFEST_FILENAME}`)) {
      if (entry.type === "File") manifestFile.set(at, at);
      else if (entry.type !== "Link") manifestFile.set(at, entryKind(entry));
      else {
        // Extracted by agents as the file it links to: read as that file (a second pass).
        const file = linkedFile(entry.linkpath ?? "", named);
        manifestFile.set(
          at,
          typeof file === "number" ? file : `${entryKind(entry)} that agents cannot extract (${file})`,
        );
      }
    }
    named.set(name, { type: entry.type, linkpath: entry.linkpath ?? "", number: at });
    // Key files are small (private-keys.ts): only those are read, and only while in hand.
    if (entry.type !== "File" || entry.size === 0 || entry.size > MAX_KEY_FILE_BYTES) {
      entry.resume();
      return;
    }
    const chunks: Buffer[] = [];
    entry.on("data", (chunk: Buffer) => chunks.push(chunk));
    entry.on("end", () => {
      if (holdsPrivateKey(Buffer.concat(chunks).toString("latin1"))) scan.privateKeys.push(entry.path);
    });
  });
  const verdict = place.verdict();
  if (!verdict.ok) throw BadInputError.single(archive, "", verdict.reason);
  const file = verdict.entry === undefined ? undefined : manifestFile.get(verdict.entry);
  if (typeof file === "string") scan.notFile = file;
  else if (file !== undefined) await readManifestEntry(archive, file, scan);
  return scan;
}

/** The text of entry number `wanted` of `archive`, as scan.manifests. */
async function readManifestEntry(archive: string, wanted: number, scan: ArchiveScan): Promise<void> {
  let number = 0;
  await listStrict(archive, (entry: ReadEntry) => {
    if (number++ === wanted) takeManifest(entry, scan);
    else entry.resume();
  });
}

/** Reads the manifest `entry` into scan.manifests, or notes it as too large to read. */
function takeManifest(entry: ReadEntry, scan: ArchiveScan): void {
  if (entry.size > MAX_MANIFEST_BYTES) {
    // Left unread, it was reported as missing ("has no update-manifest.yaml").
    scan.oversized = entry.size;
    entry.resume();
    return;
  }
  const chunks: Buffer[] = [];
  scan.manifests.push(chunks);
  entry.on("data", (chunk: Buffer) => chunks.push(chunk));
}

/** Every entry of `archive` to `onEntry`, strictly (see scanArchive), failures named as the archive's. */
async function listStrict(archive: string, onEntry: (entry: ReadEntry) => void): Promise<void> {
  await list({ file: archive, strict: true, onReadEntry: onEntry }).catch(async (e: unknown) => {
    // A missing or unreadable file is named as such, not as a bad archive with Node's raw errno.
    if (errnoCode(e) !== undefined) throw BadInputError.single(archive, "", `cannot read: ${fsErrorText(e)}`);
    // What an agent says of it when it can say what the file is (a zip, a page, an empty tar), as
    // tar's "Unrecognized archive format" alone cannot.
    await refuseWhatAgentsRefuse(archive);
    throw BadInputError.single(
      archive,
      "",
      `is not a readable tar archive: ${(e as Error).message} (agents install .tar.gz, .tgz and .tar)`,
    );
  });
}

/**
 * `sign` and `publish` refuse an archive holding a private key, as `ship release http` refuses to
 * pack one: an archive CI made with its own tar (or `http --allow-private-key`) reached every
 * server signed and published all the same. `what` says what would spread it ("signed").
 */
export interface ArchiveKeyPolicy {
  /** Entries meant to ship (--allow-private-key), as the archive names them or inside its folder. */
  allowPrivateKeys: readonly string[];
  what: string;
}

function refuseArchivedKeys(archive: string, found: readonly string[], policy: ArchiveKeyPolicy): void {
  const allowed = new Set(policy.allowPrivateKeys.map(normalEntry));
  // `myapp-1.0.0/src/tls.pem` is allowed as written, or as the release names it (`src/tls.pem`).
  const keys = found.filter((entry) => {
    const path = normalEntry(entry);
    return !allowed.has(path) && !allowed.has(path.split("/").slice(1).join("/"));
  });
  const [first] = keys;
  if (first === undefined) return;
  const more = keys.length > 1 ? ` (and ${keys.length - 1} more: ${keys.slice(1, 4).join(", ")})` : "";
  throw BadInputError.single(
    archive,
    "",
    `holds a private key in ${first}${more}; ${policy.what}, it would go onto every server. Rebuild the archive without it, or pass ${ALLOW_PRIVATE_KEY_FLAG} ${first} if it is meant to ship`,
  );
}

function normalEntry(path: string): string {
  return path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

/** How `sign` and `publish` name the manifest they read out of `archive` (as agents name it). */
export const archiveManifestName = manifestInside;

/**
 * The text of the one manifest `archive` holds, refused as `ship --test-manifest` refuses a file
 * (not UTF-8, NUL bytes, UTF-16): it was read as UTF-8 unchecked, so an archive another tool packed
 * with a Latin-1 manifest was signed and published with U+FFFD where the author's byte was.
 */
export async function readManifestFromArchive(archive: string, keys?: ArchiveKeyPolicy): Promise<string> {
  const text = await manifestInArchive(archive, keys);
  await refuseWhatAgentsRefuse(archive);
  return text;
}

/**
 * The manifest text only, for comparing it with a --manifest (sign-artifact.ts): the archive itself
 * was checked by checkReleaseArchive already.
 */
export function manifestTextInArchive(archive: string): Promise<string> {
  return manifestInArchive(archive);
}

async function manifestInArchive(archive: string, keys?: ArchiveKeyPolicy): Promise<string> {
  const { manifests: found, privateKeys, oversized, notFile } = await scanArchive(archive);
  if (oversized !== undefined)
    throw BadInputError.single(
      archiveManifestName(archive),
      "",
      `is ${sizeText(oversized)}, larger than ${sizeText(MAX_MANIFEST_BYTES)}, the most ship reads of a manifest`,
    );
  if (found.length === 0 && notFile !== undefined)
    throw BadInputError.single(
      archiveManifestName(archive),
      "",
      `is ${notFile}, not a file: sign and publish read the manifest as a file in the archive; pack the file in its place (GNU tar: -h follows links) or pass --manifest FILE`,
    );
  // A manifest packed twice, or where agents do not look, was refused while scanning (manifest-place.ts).
  if (found.length === 0)
    throw BadInputError.single(archive, "", `has no ${MANIFEST_FILENAME}; pass --manifest FILE`);
  if (keys !== undefined) refuseArchivedKeys(archive, privateKeys, keys);
  return manifestText(Buffer.concat(found[0] ?? []), archiveManifestName(archive));
}

/**
 * Refuses an archive no agent could unpack or would refuse an entry of (agents-extract.ts), when the
 * manifest comes from elsewhere (--manifest), and with `keys` one holding a private key.
 */
export async function checkReleaseArchive(archive: string, keys?: ArchiveKeyPolicy): Promise<void> {
  const { privateKeys } = await scanArchive(archive);
  if (keys !== undefined) refuseArchivedKeys(archive, privateKeys, keys);
  await refuseWhatAgentsRefuse(archive);
}
