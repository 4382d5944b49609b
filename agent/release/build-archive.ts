/**
 * `ship release http`: APP-VERSION.tar.gz with one top-level directory APP-VERSION/ and the
 * manifest inside, byte-for-byte reproducible from the same input, plus a sha256sum-format file.
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { Issue } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { parseManifestText, readManifestText } from "../../shared/manifest/load.js";
import { findFileRule, protectedDirectoryOf } from "../../shared/manifest/rules.js";
import { MANIFEST_FILENAME, type Manifest } from "../../shared/manifest/schema.js";
import { DEFAULT_LIMITS } from "../archive/limits.js";
import type { ProgressCallback } from "../download/progress.js";
import { sha256File } from "../sources/checksum.js";
import { pathOnDisk } from "../tree/path-on-disk.js";
import { collectEntries, relativeInside } from "./collect-entries.js";
import { immutableVersionText, ReleaseFailedError, VersionPublishedError } from "./errors.js";
import { refuseLfsPointers } from "./lfs-pointers.js";
import { setReleaseFields } from "./manifest-fields.js";
import { releaseDate, starterManifest } from "./manifest-template.js";
import { refusePrivateKeys } from "./private-keys.js";
import { sourceDateEpoch } from "./source-date-epoch.js";
import { tarStream } from "./tar-writer.js";

export interface BuildOptions {
  sourceDir: string;
  app: string;
  version: string;
  description?: string;
  include?: readonly string[];
  outDir: string;
  /** Seconds since the epoch stamped on every entry; default SOURCE_DATE_EPOCH, else 0. */
  mtime?: number;
  env?: NodeJS.ProcessEnv;
  /** Relative paths of files that hold a private key and are meant to ship (--allow-private-key). */
  allowPrivateKeys?: readonly string[];
  /** Told the file bytes packed so far, of all the files' bytes. */
  onProgress?: ProgressCallback;
}

/**
 * Fixed, so equal input gives equal bytes: gzip's own default level (what `tar czf` gives); level
 * 9 took 2.4x the CPU on text for 1.5 % less.
 */
const GZIP_LEVEL = 6;

export interface BuiltArchive {
  path: string;
  checksumPath: string;
  sha256: string;
  size: number;
  /** The manifest exactly as it is inside the archive (what signatures and the hub see). */
  manifestText: string;
  /** Whether the manifest came from the starter template because the source had none. */
  starterManifest: boolean;
  /**
   * Paths in the source the archive leaves out because the manifest skips (`action: skip`) or
   * protects (`preserve: true`) them: agents never install those, so shipping them would only
   * spread what they hold (`.env`, `secrets/`, user data). A directory stands for its contents.
   */
  leftOut: string[];
  /** Files an earlier `ship release` of this app wrote into the source (archives, sums, signatures, git releases' `.git.sig`, `.partial`s), left out. */
  earlierOutputs: string[];
  /** Stored uncompressed (gzip level 0): compressed, agents would refuse it as a decompression bomb. */
  stored: boolean;
  /** The out directory already held these very bytes under this version (a rebuild): left as it was. */
  unchanged: boolean;
  /** What the manifest's reader warns about (an unknown key), as `ship --test-manifest` says it. */
  warnings: Issue[];
}

async function releaseManifest(o: BuildOptions, date: string): Promise<{ text: string; starter: boolean }> {
  const file = join(o.sourceDir, MANIFEST_FILENAME);
  const fields = { version: o.version, description: o.description, releaseDate: date };
  if (!existsSync(file)) return { text: starterManifest({ ...fields, app: o.app }), starter: true };
  return { text: setReleaseFields(await readManifestText(file), file, fields), starter: false };
}

/**
 * What a release run wrote itself: this run's `--out` directory (when it lies in the source) and,
 * anywhere in the tree, an earlier run's outputs of this app — `APP-VERSION.tar.gz`, its `.sha256`
 * and `.sig`, the `.partial` a killed run left, and the `APP-VERSION.git.sig` that `sign
 * --git-commit` writes into `-C` (it went into the next http release, onto every server). Only
 * the top of the tree used to be searched, so `dist1/` from a run with another `--out` went too.
 */
async function outputFilter(o: BuildOptions): Promise<{
  isOutput: (rel: string) => boolean;
  isEarlier: (rel: string) => boolean;
}> {
  // As written, and as the disk leads: `--out "$PWD/dist"` keeps a symlink of the CI workspace that
  // `-C`, read from the physical working directory, lacks (or the other way round), and a dist/
  // that went unrecognised was packed, carrying the earlier archives and .sig files onto every
  // server. The written form still counts: a `dist` link to an artifacts disk is left out as such.
  const named = relativeInside(resolve(o.sourceDir), resolve(o.outDir));
  const onDisk = relativeInside(await pathOnDisk(o.sourceDir), await pathOnDisk(o.outDir));
  const prefix = `${o.app}-`;
  const isEarlier = (rel: string): boolean => {
    const name = rel.slice(rel.lastIndexOf("/") + 1);
    const match = /^(.+)(?:\.tar\.gz(?:\.sha256|\.sig|\.partial)?|\.git\.sig)$/.exec(name);
    return match?.[1]?.startsWith(prefix) === true;
  };
  return {
    isOutput: (rel) =>
      rel === MANIFEST_FILENAME ||
      (named !== undefined && rel === named) ||
      (onDisk !== undefined && rel === onDisk),
    isEarlier,
  };
}

/**
 * Whether agents would never install `rel` by this manifest's rules (the same lookups the planner
 * uses: exact `files` key, then first glob; `directories` by whole path segments, most specific
 * entry deciding): a path in or at a protected directory, or a `skip` file. `files` rules name
 * files, so a directory is never left out by one (`secrets/**: skip` with an exact rule shipping
 * `secrets/ca.pem`); one left empty by them is dropped later.
 */
function neverInstalled(manifest: Manifest, rel: string, isDirectory: boolean): boolean {
  if (protectedDirectoryOf(manifest, rel) !== null) return !isDirectory || !unprotectedBelow(manifest, rel);
  return !isDirectory && findFileRule(manifest, rel).rule.action === "skip";
}

/**
 * Whether a `directories` entry below `dir` has `preserve: false`: agents install that one's files
 * (the most specific entry decides), so a protected `dir` around it is walked file by file, not
 * left out whole (`data` preserved, `data/cache` not).
 */
function unprotectedBelow(manifest: Manifest, dir: string): boolean {
  const clean = (p: string) => p.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
  return Object.entries(manifest.directories).some(
    ([key, rule]) => !rule.preserve && clean(key).startsWith(`${clean(dir)}/`),
  );
}

function defaultMtime(env: NodeJS.ProcessEnv): number {
  return sourceDateEpoch(env) ?? 0;
}

export function archiveName(app: string, version: string): string {
  return `${app}-${version}.tar.gz`;
}

export async function buildReleaseArchive(o: BuildOptions): Promise<BuiltArchive> {
  const env = o.env ?? process.env;
  const topDir = `${o.app}-${o.version}`;
  const manifest = await releaseManifest(o, releaseDate(env));
  // An invalid manifest would be refused by every agent; better to fail the CI job here.
  const { manifest: parsed, warnings } = parseManifestText(
    manifest.text,
    join(o.sourceDir, MANIFEST_FILENAME),
  );
  const manifestBytes = Buffer.from(manifest.text);
  const { isOutput, isEarlier } = await outputFilter(o);
  const leftOut: string[] = [];
  const earlierOutputs: string[] = [];
  const exclude = (rel: string, isDirectory: boolean): boolean => {
    if (isOutput(rel)) return true;
    if (!isDirectory && isEarlier(rel)) {
      earlierOutputs.push(rel);
      return true;
    }
    if (!neverInstalled(parsed, rel, isDirectory)) return false;
    leftOut.push(rel);
    return true;
  };
  const entries = await collectEntries({ sourceDir: o.sourceDir, include: o.include, exclude }, topDir, [
    {
      type: "File",
      path: MANIFEST_FILENAME,
      source: manifestBytes,
      size: manifestBytes.length,
      executable: false,
    },
  ]);
  const files = entries.flatMap((e) =>
    e.type === "File" && typeof e.source === "string"
      ? [{ rel: e.path.slice(topDir.length + 1), path: e.source, size: e.size }]
      : [],
  );
  await refuseLfsPointers(files, resolve(o.sourceDir));
  await refusePrivateKeys(
    resolve(o.sourceDir),
    files,
    o.allowPrivateKeys ?? [],
    "the archive",
    `Add it to .gitignore, move it out of ${o.sourceDir}, or mark it \`skip\` in ${MANIFEST_FILENAME}`,
  );
  await makeDirs(o.outDir);
  const path = join(o.outDir, archiveName(o.app, o.version));
  const partial = `${path}.partial`;
  const mtime = new Date((o.mtime ?? defaultMtime(env)) * 1000);
  let written = await writeArchive(partial, () => tarStream(entries, mtime, o.onProgress), GZIP_LEVEL);
  // Agents refuse what unpacks to more than maxRatio times the bytes read so far (a decompression
  // bomb, limits.ts): a release of zeros or a sparse image built at level 6 was refused by every
  // one of them. Stored (level 0) it unpacks at about 1:1 and installs, only larger.
  const stored = written.bombLike;
  if (stored) written = await writeArchive(partial, () => tarStream(entries, mtime), 0);
  const { sha256, size } = written;
  const unchanged = await settle(partial, path, sha256, o.version);
  const checksumPath = `${path}.sha256`;
  await writeFile(checksumPath, `${sha256}  ${basename(path)}\n`);
  return {
    path,
    checksumPath,
    sha256,
    size,
    manifestText: manifest.text,
    starterManifest: manifest.starter,
    leftOut: [...new Set(leftOut)],
    earlierOutputs: [...new Set(earlierOutputs)].sort(),
    stored,
    unchanged,
    warnings,
  };
}

/**
 * Moves the written `partial` to `path` unless `path` already holds this version: the same bytes
 * (a retried CI job; the build is reproducible) are left as they were, other bytes are refused,
 * exit 2, and `path` is not touched. A version is immutable, as at the hub: the rename replaced an
 * --out archive a web server may already serve, so hosts already on the version kept the old
 * content and new ones installed the new under the same version (#7's mix-and-match).
 */
async function settle(partial: string, path: string, sha256: string, version: string): Promise<boolean> {
  try {
    const existing = await sha256File(path).catch((e: unknown) => {
      if (errnoCode(e) === "ENOENT") return undefined;
      throw new ReleaseFailedError(path, `cannot read the archive already there: ${fsErrorText(e)}`);
    });
    if (existing === undefined) {
      await rename(partial, path);
      return false;
    }
    if (existing !== sha256)
      throw new VersionPublishedError(immutableVersionText(path, version, existing, sha256, "written"));
    await rm(partial, { force: true });
    return true;
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
}

/**
 * Writes the gzipped tar to `partial` (settle() puts it in place), and says whether its bytes ever unpack
 * past an agent's ratio limit: tar bytes (headers included: a little more than the files' bytes
 * agents count) against the gzip bytes out so far (a little less than agents will have read), so
 * the estimate errs towards storing.
 */
async function writeArchive(
  partial: string,
  tar: () => AsyncIterable<Buffer>,
  level: number,
): Promise<{ sha256: string; size: number; bombLike: boolean }> {
  const hash = createHash("sha256");
  let size = 0;
  let unpacked = 0;
  let bombLike = false;
  const { maxRatio, ratioFloorBytes } = DEFAULT_LIMITS;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      unpacked += chunk.length;
      if (unpacked > ratioFloorBytes && unpacked > maxRatio * Math.max(1, size)) bombLike = true;
      done(null, chunk);
    },
  });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    // Node's gzip header carries no file name and mtime 0, so equal tar bytes give equal .gz bytes.
    await pipeline(Readable.from(tar()), count, createGzip({ level }), tap, createWriteStream(partial));
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
  return { sha256: hash.digest("hex"), size, bombLike };
}
