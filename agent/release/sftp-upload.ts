/**
 * `ship release sftp`: uploads a built archive and its .sha256, checks the host key against
 * known_hosts, and re-reads the upload over SFTP to prove its size and sha256 before renaming it
 * into place, so agents polling the directory never see a partial or corrupted file.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, posix } from "node:path";
import type { SyncHostVerifier } from "ssh2";
import SftpClient from "ssh2-sftp-client";
import { BadInputError, VerificationError } from "../../shared/errors.js";
import { type HostKeyVerdict, parseKnownHosts, verifyHostKey } from "../sources/ssh/known-hosts.js";

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
}

const expandHome = (p: string): string => (p.startsWith("~/") ? posix.join(homedir(), p.slice(2)) : p);

async function readRequired(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw BadInputError.single(path, what, `cannot read: ${(e as Error).message}`);
  }
}

const verdictText: Record<Exclude<HostKeyVerdict, "match">, string> = {
  unknown: "is not in known_hosts (add it with ssh-keyscan after checking its fingerprint)",
  mismatch: "offered a key that differs from known_hosts: possible man-in-the-middle",
  revoked: "offered a key marked @revoked in known_hosts",
};

async function remoteSha256(client: SftpClient, remotePath: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of client.createReadStream(remotePath)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Uploads `localPath` to `remoteDir` under a temporary name, verifies it, renames it into place. */
async function putVerified(client: SftpClient, localPath: string, remoteDir: string): Promise<UploadResult> {
  const remotePath = posix.join(remoteDir, basename(localPath));
  const partial = posix.join(remoteDir, `.${basename(localPath)}.partial`);
  const { size } = await stat(localPath);
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(localPath)) hash.update(chunk as Buffer);
  const sha256 = hash.digest("hex");
  await client.put(createReadStream(localPath), partial);
  const remoteSize = (await client.stat(partial)).size;
  if (remoteSize !== size) {
    throw new VerificationError(partial, `uploaded ${remoteSize} bytes, expected ${size}`);
  }
  const remoteHash = await remoteSha256(client, partial);
  if (remoteHash !== sha256) throw new VerificationError(partial, `sha256 ${remoteHash}, expected ${sha256}`);
  if (await client.exists(remotePath)) await client.delete(remotePath);
  await client.rename(partial, remotePath);
  return { remotePath, size, sha256 };
}

export async function uploadRelease(target: SftpTarget, files: readonly string[]): Promise<UploadResult[]> {
  const port = target.port ?? 22;
  const knownHostsFile = expandHome(target.knownHostsFile ?? "~/.ssh/known_hosts");
  const knownHosts = await readRequired(knownHostsFile, "--known-hosts");
  const knownHostEntries = parseKnownHosts(knownHosts);
  const keyFile = expandHome(target.keyFile ?? "~/.ssh/id_ed25519");
  const privateKey = await readRequired(keyFile, "--key");
  let verdict: HostKeyVerdict | undefined;
  const hostVerifier: SyncHostVerifier = (key) => {
    verdict = verifyHostKey(knownHostEntries, target.host, port, key);
    return verdict === "match";
  };
  // The library's default listeners print to the console; failures already reach us as rejections.
  const quiet = () => undefined;
  const client = new SftpClient("ship-release", { error: quiet, end: quiet, close: quiet });
  try {
    await client.connect({
      host: target.host,
      port,
      username: target.username,
      privateKey,
      passphrase: target.passphrase,
      hostVerifier,
      readyTimeout: target.readyTimeoutMs ?? 20_000,
    });
  } catch (e) {
    if (verdict !== undefined && verdict !== "match") {
      throw new VerificationError(
        `${target.host}:${port}`,
        `host ${verdictText[verdict]} (${knownHostsFile})`,
      );
    }
    throw new BadInputError(
      [{ file: `sftp://${target.host}:${port}`, path: "", message: (e as Error).message, severity: "error" }],
      `sftp://${target.username}@${target.host}:${port}: ${(e as Error).message}`,
    );
  }
  try {
    if (!(await client.exists(target.remoteDir))) await client.mkdir(target.remoteDir, true);
    const results: UploadResult[] = [];
    for (const file of files) results.push(await putVerified(client, file, target.remoteDir));
    return results;
  } finally {
    await client.end().catch(() => undefined);
  }
}
