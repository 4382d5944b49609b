/**
 * `ship release sftp`: uploads a built archive and its .sha256, checks the host key against
 * known_hosts, and re-reads the upload over SFTP to prove its size and sha256 before renaming it
 * into place, so agents polling the directory never see a partial or corrupted file. With a stable
 * name (`--latest myapp-latest.tar.gz`, what the seed's agents watch) the verified archive is then
 * hard-linked (or, without the server's hardlink extension, uploaded again and verified) to a
 * temporary name and renamed over the stable one: agents see the old release or the new one, never
 * a mixture; its `.sha256` and (with `--sign-key`) `.sig` follow. Uploaded files are 0644 whatever
 * the server's umask.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, posix } from "node:path";
import type { SFTPWrapper, SyncHostVerifier } from "ssh2";
import SftpClient from "ssh2-sftp-client";
import { BadInputError, ShipError, VerificationError } from "../../shared/errors.js";
import { readableByOthersNote, writableByOthersProblem } from "../../shared/file-permissions.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { countedReadStream } from "../download/counted-read.js";
import { networkErrorText } from "../download/errors.js";
import type { ProgressCallback } from "../download/progress.js";
import { sha256File } from "../sources/checksum.js";
import {
  globalKnownHosts,
  type HostKeyVerdict,
  hostKeyAlgorithms,
  parseKnownHosts,
  refusedKeyLines,
  verifyHostKey,
  wireKeyType,
} from "../sources/ssh/known-hosts.js";
import { remoteReadStream } from "../sources/ssh/sftp-read.js";
import { immutableVersionText, ReleaseFailedError, VersionPublishedError } from "./errors.js";

export interface SftpTarget {
  host: string;
  port?: number;
  username: string;
  remoteDir: string;
  /** Private key file; default ~/.ssh/id_ed25519. */
  keyFile?: string;
  passphrase?: string;
  /** Default ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  readyTimeoutMs?: number;
}

export interface UploadResult {
  remotePath: string;
  size: number;
  sha256: string;
  /** The server already held these very bytes under this name (a retried job): nothing was sent. */
  unchanged: boolean;
}

export interface UploadOptions {
  /** A stable file name in remoteDir switched to the first file (the archive) once it is verified. */
  latest?: string;
  /** The archive's .sig (local path): with `latest`, it becomes `<latest>.sig` too. */
  signature?: string;
  /** A progress callback per uploaded file (given its name), told its bytes sent so far. */
  progressOf?: (name: string) => ProgressCallback;
}

export interface LatestResult {
  remotePath: string;
  /** The versioned file it now points at (same bytes). */
  target: string;
  how: "hardlink" | "copy";
}

/** World-readable, writable only by the uploader: agents read releases, nobody rewrites them. */
const UPLOAD_MODE = 0o644;

export const expandHome = (p: string): string => (p.startsWith("~/") ? posix.join(homedir(), p.slice(2)) : p);

const DEFAULT_KEY = "~/.ssh/id_ed25519";
const DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts";

/**
 * The login key as OpenSSH takes it: one other users can read ("UNPROTECTED PRIVATE KEY FILE" to
 * ssh) is refused, exit 2 naming --key, before anything is built. ssh2 used it without a word,
 * while the agents' own sftp and git keys were refused for the same mode.
 */
export async function checkUploadKey(keyFile: string | undefined): Promise<void> {
  const path = expandHome(keyFile ?? DEFAULT_KEY);
  const note = await readableByOthersNote(
    path,
    "logs in to the release server as this user (OpenSSH refuses such a key too)",
  );
  if (note !== undefined) throw BadInputError.single("--key", "", note);
  await readRequired(path, "--key");
}

/**
 * The known_hosts the upload trusts, held to the agents' rule: one others can write (or in a
 * directory they can) lets them add the key of a server in the middle, which then receives the
 * release under the name agents fetch. The agents refused such a file; this command used it.
 */
export async function checkUploadKnownHosts(knownHostsFile: string | undefined): Promise<void> {
  const path = expandHome(knownHostsFile ?? DEFAULT_KNOWN_HOSTS);
  const problem = await writableByOthersProblem(
    path,
    "a host key, and so a server in the middle that the upload then trusts",
  );
  if (problem !== undefined) throw BadInputError.single("--known-hosts", "", problem);
  await readKnownHosts(knownHostsFile);
}

/**
 * The user's known_hosts text. Without --known-hosts a missing ~/.ssh/known_hosts is none, as for
 * ssh: a CI runner whose servers are in /etc/ssh/ssh_known_hosts has no file of its own.
 */
async function readKnownHosts(knownHostsFile: string | undefined): Promise<string> {
  const path = expandHome(knownHostsFile ?? DEFAULT_KNOWN_HOSTS);
  if (knownHostsFile === undefined && errnoCode(await stat(path).catch((e: unknown) => e)) === "ENOENT")
    return "";
  return readRequired(path, "--known-hosts");
}

/** Read before anything is built too (checkUploadKey, checkUploadKnownHosts): exit 2 leaves no archive behind. */
async function readRequired(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw BadInputError.single(flag, "", `${path}: cannot read: ${fsErrorText(e)}`);
  }
}

const verdictText: Record<Exclude<HostKeyVerdict, "match">, string> = {
  unknown: "is not in known_hosts (add it with ssh-keyscan after checking its fingerprint)",
  mismatch: "offered a key that differs from known_hosts: possible man-in-the-middle",
  revoked: "offered a key marked @revoked in known_hosts",
};

async function remoteSha256(client: SftpClient, remotePath: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of remoteReadStream(client, remotePath)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * The server's copy of `name` (written to `path`) against the local bytes. A short copy is the
 * server failing mid-write (a full disk or a quota: internal-sftp reported no error), so exit 1 as
 * for any upload the server did not finish, naming the file the operator asked for, not the
 * hidden temporary name.
 */
async function verifyRemote(
  client: SftpClient,
  path: string,
  name: string,
  size: number,
  sha256: string,
): Promise<void> {
  const remoteSize = (await client.stat(path)).size;
  if (remoteSize !== size)
    throw new UploadIncompleteError(
      `the server stored ${remoteSize} of the ${size} bytes of ${name} (is its disk full, or a quota reached?)`,
    );
  const remoteHash = await remoteSha256(client, path);
  if (remoteHash !== sha256)
    throw new UploadIncompleteError(
      `the server's copy of ${name} has sha256 ${remoteHash}, not the archive's ${sha256}`,
    );
}

/** The server kept other bytes than were sent; serverRefusal() names the directory. */
class UploadIncompleteError extends Error {}

/**
 * Runs `write` (an upload to the temporary name `temp`), removing `temp` when it fails: a half
 * written or unverified upload stayed in the release directory, hidden but holding the space of
 * a server that had just run out of it. Removal is best effort: the first error is the one shown.
 */
async function removingOnFailure<T>(client: SftpClient, temp: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    await client.delete(temp, true).catch(() => undefined);
    throw error;
  }
}

/**
 * Uploads `localPath` to `remoteDir` (as `remoteName`) under a temporary name, sets 0644, verifies
 * it and renames it into place with posix-rename, which replaces an existing file atomically.
 */
async function putVerified(
  client: SftpClient,
  localPath: string,
  remoteDir: string,
  onProgress?: ProgressCallback,
  remoteName = basename(localPath),
): Promise<UploadResult> {
  const remotePath = posix.join(remoteDir, remoteName);
  const partial = posix.join(remoteDir, `.${remoteName}.partial`);
  const { size, sha256 } = await localSha256(localPath);
  const body =
    onProgress === undefined ? createReadStream(localPath) : countedReadStream(localPath, onProgress);
  await removingOnFailure(client, partial, async () => {
    await client.put(body, partial, { writeStreamOptions: { mode: UPLOAD_MODE } });
    await client.chmod(partial, UPLOAD_MODE);
    await verifyRemote(client, partial, remoteName, size, sha256);
    await client.posixRename(partial, remotePath);
  });
  return { remotePath, size, sha256, unchanged: false };
}

async function localSha256(localPath: string): Promise<{ size: number; sha256: string }> {
  return { size: (await stat(localPath)).size, sha256: await sha256File(localPath) };
}

/**
 * What the server already holds under each versioned name, checked for every file before any is
 * sent: a version is immutable, as at the hub. The same bytes again (a retried CI job: the build
 * is reproducible) are left as they are; other bytes are refused, exit 2, nothing uploaded. The
 * posix-rename replaced them without a word, so hosts already on the version kept the old
 * content while new ones installed the new under the same name (#7's mix-and-match).
 */
async function alreadyPublished(
  client: SftpClient,
  files: readonly string[],
  remoteDir: string,
  where: string,
  version: string,
): Promise<UploadResult[]> {
  const held: UploadResult[] = [];
  for (const file of files) {
    const remotePath = posix.join(remoteDir, basename(file));
    const there = await client.exists(remotePath);
    if (there === false) continue;
    const local = await localSha256(file);
    const theirs =
      there === "-"
        ? await remoteSha256(client, remotePath)
        : `none (a ${there === "d" ? "directory" : "link"})`;
    if (theirs !== local.sha256)
      throw new VersionPublishedError(
        immutableVersionText(`${where}/${basename(file)}`, version, theirs, local.sha256, "uploaded"),
      );
    held.push({ remotePath, ...local, unchanged: true });
  }
  return held;
}

/** A plain file name inside the upload directory, never a path that could land elsewhere. */
export function checkLatestName(name: string): string {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\\")) {
    throw BadInputError.single(
      "--latest",
      name,
      "must be a file name in the upload directory, e.g. myapp-latest.tar.gz",
    );
  }
  return name;
}

function hardlink(sftp: SFTPWrapper, target: string, link: string): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      sftp.ext_openssh_hardlink(target, link, (error) => (error ? reject(error) : resolve()));
    } catch (error) {
      // ssh2 throws synchronously when the server does not offer hardlink@openssh.com.
      reject(error);
    }
  });
}

/**
 * Points `latest` at the verified archive: a hard link (same bytes, no second upload) or a verified
 * copy, under a temporary name, then one atomic rename; its `.sha256` follows the same way so an
 * agent checking `<remote_path>.sha256` finds the matching hash.
 */
async function switchLatest(
  client: SftpClient,
  sftp: SFTPWrapper,
  localPath: string,
  archive: UploadResult,
  remoteDir: string,
  latest: string,
  signature: string | undefined,
): Promise<LatestResult> {
  const remotePath = posix.join(remoteDir, latest);
  const temp = posix.join(remoteDir, `.${latest}.partial`);
  let how: LatestResult["how"] = "hardlink";
  if (await client.exists(temp)) await client.delete(temp);
  await removingOnFailure(client, temp, async () => {
    try {
      await hardlink(sftp, archive.remotePath, temp);
    } catch {
      how = "copy";
      await client.put(createReadStream(localPath), temp, { writeStreamOptions: { mode: UPLOAD_MODE } });
      await client.chmod(temp, UPLOAD_MODE);
      await verifyRemote(client, temp, latest, archive.size, archive.sha256);
    }
    await client.posixRename(temp, remotePath);
    // A rename between two links to one file does nothing (rename(2)): the stable name already
    // pointed at this archive (a retried release the server holds), and the temporary link stays.
    if (await client.exists(temp)) await client.delete(temp);
  });
  const sums = posix.join(remoteDir, `.${latest}.sha256.partial`);
  await removingOnFailure(client, sums, async () => {
    await client.put(Buffer.from(`${archive.sha256}  ${latest}\n`), sums, {
      writeStreamOptions: { mode: UPLOAD_MODE },
    });
    await client.chmod(sums, UPLOAD_MODE);
    await client.posixRename(sums, `${remotePath}.sha256`);
  });
  // The stable name's signature follows as well; an unsigned release must not keep the previous
  // one's (agents with [trust] keys would read it as a forgery rather than as unsigned).
  const sig = `${remotePath}.sig`;
  if (signature !== undefined) await putVerified(client, signature, remoteDir, undefined, `${latest}.sig`);
  else if (await client.exists(sig)) await client.delete(sig);
  return { remotePath, target: archive.remotePath, how };
}

/**
 * A key or login the server refuses is bad input naming --key (exit 2); anything else (refused
 * connection, no route, handshake timeout) is the network, exit 1 as for an unreachable hub, said
 * in words rather than ssh2-sftp-client's "getConnection: connect ECONNREFUSED 127.0.0.1:22".
 */
function connectError(where: string, keyFile: string, error: unknown): Error {
  const said = error instanceof Error ? error.message.replace(/^getConnection: /, "") : String(error);
  if (errnoCode(error) === undefined && /authentication|private ?key|passphrase/i.test(said)) {
    return new BadInputError(
      [{ file: keyFile, path: "--key", message: `${where} refused it: ${said}`, severity: "error" }],
      `${where}: ${said} (--key ${keyFile})`,
    );
  }
  const reason = errnoCode(error) === undefined ? said : networkErrorText(error);
  return new ReleaseFailedError(where, `cannot connect: ${reason}`);
}

/**
 * What the server refused, in words naming the directory: ssh2-sftp-client's "_put: Write stream
 * error: Permission denied /releases/.myapp-1.0.1.tar.gz.partial" ended as "internal error", exit 1,
 * naming a hidden file the operator never asked for. No retry gives the user the right to write.
 */
function serverRefusal(where: string, username: string, error: unknown): Error {
  if (error instanceof ShipError) return error;
  if (error instanceof UploadIncompleteError)
    return new ReleaseFailedError(where, `upload failed: ${error.message}`);
  const said = (error instanceof Error ? error.message : String(error)).replace(/^(_?[a-zA-Z]+: )+/, "");
  const code = (error as { code?: unknown } | null)?.code;
  if (code === SFTP_PERMISSION_DENIED || /permission denied/i.test(said))
    return BadInputError.single(
      "<remote_dir>",
      "",
      `${where}: permission denied on the server (the user ${username} may not write there): ${said}`,
    );
  return new ReleaseFailedError(where, `upload failed: ${said}`);
}

/** SFTP's status code for "permission denied" (draft-ietf-secsh-filexfer-02 §7). */
const SFTP_PERMISSION_DENIED = 3;

/** Uploads `files` (the archive first); with `latest`, switches that stable name to the archive. */
export async function uploadRelease(
  target: SftpTarget,
  version: string,
  files: readonly string[],
  options: UploadOptions = {},
): Promise<{ uploaded: UploadResult[]; latest?: LatestResult }> {
  const latest = options.latest === undefined ? undefined : checkLatestName(options.latest);
  const port = target.port ?? 22;
  const knownHostsFile = expandHome(target.knownHostsFile ?? DEFAULT_KNOWN_HOSTS);
  const knownHosts = await readKnownHosts(target.knownHostsFile);
  const knownHostEntries = [...parseKnownHosts(knownHosts, knownHostsFile), ...(await globalKnownHosts())];
  const serverHostKey = hostKeyAlgorithms(knownHostEntries, target.host, port);
  const keyFile = expandHome(target.keyFile ?? DEFAULT_KEY);
  const privateKey = await readRequired(keyFile, "--key");
  let verdict: HostKeyVerdict | undefined;
  let refusedLines: string | undefined;
  const hostVerifier: SyncHostVerifier = (key) => {
    verdict = verifyHostKey(knownHostEntries, target.host, port, key);
    refusedLines = refusedKeyLines(knownHostEntries, target.host, port, key, wireKeyType(key));
    return verdict === "match";
  };
  // The library's default listeners print to the console; failures already reach us as rejections.
  const quiet = () => undefined;
  const client = new SftpClient("ship-release", { error: quiet, end: quiet, close: quiet });
  let sftp: SFTPWrapper;
  try {
    sftp = await client.connect({
      host: target.host,
      port,
      username: target.username,
      privateKey,
      passphrase: target.passphrase,
      hostVerifier,
      readyTimeout: target.readyTimeoutMs ?? 20_000,
      ...(serverHostKey === undefined ? {} : { algorithms: { serverHostKey } }),
    });
  } catch (e) {
    if (verdict !== undefined && verdict !== "match") {
      throw new VerificationError(
        `${target.host}:${port}`,
        `host ${verdictText[verdict]} (${verdict === "unknown" ? knownHostsFile : (refusedLines ?? knownHostsFile)})`,
      );
    }
    throw connectError(`sftp://${target.username}@${target.host}:${port}`, keyFile, e);
  }
  // A relative remote_dir is the login's home directory's: `~/`, not glued to the port.
  const dirPath = target.remoteDir.startsWith("/") ? target.remoteDir : `/~/${target.remoteDir}`;
  const where = `sftp://${target.username}@${target.host}:${port}${dirPath}`;
  try {
    const there = await client.exists(target.remoteDir);
    if (there === false) await client.mkdir(target.remoteDir, true);
    else if (there === "-")
      throw BadInputError.single("<remote_dir>", "", `${where} is a file on the server, not a directory`);
    const held = await alreadyPublished(client, files, target.remoteDir, where, version);
    const uploaded: UploadResult[] = [];
    for (const file of files)
      uploaded.push(
        held.find((h) => h.remotePath === posix.join(target.remoteDir, basename(file))) ??
          (await putVerified(client, file, target.remoteDir, options.progressOf?.(basename(file)))),
      );
    const [archivePath] = files;
    const archive = uploaded[0];
    if (latest === undefined || archivePath === undefined || archive === undefined) return { uploaded };
    return {
      uploaded,
      latest: await switchLatest(
        client,
        sftp,
        archivePath,
        archive,
        target.remoteDir,
        latest,
        options.signature,
      ),
    };
  } catch (error) {
    throw serverRefusal(where, target.username, error);
  } finally {
    await client.end().catch(() => undefined);
  }
}
