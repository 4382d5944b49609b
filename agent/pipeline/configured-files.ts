/**
 * The files ship.toml keys name that a run will read (a CA, an SSH key and its passphrase, known_hosts,
 * the hub token, trusted public keys), checked before the source is asked anything: missing,
 * unreadable, a directory or empty is bad input (exit 2) naming the config file, the key and the
 * file, instead of Node's bare "ENOENT: …, open '…'" from deep inside a download (exit 1), an ssh2
 * "Cannot parse privateKey", or a hub connection that silently keeps retrying.
 */
import { Stats } from "node:fs";
import { lstat, readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { caCertificateProblem } from "../../shared/ca-certificates.js";
import type { AgentConfig, LocalSource, Source } from "../../shared/config/schema.js";
import { appDirAccessProblem } from "../../shared/dir-access.js";
import { BadInputError, formatIssue, type Issue } from "../../shared/errors.js";
import {
  readableByOthersNote,
  SSH_KEY_ROLE,
  TRUSTED_KEY_ROLE,
  writableByOthersProblem,
} from "../../shared/file-permissions.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { readNamedFile } from "../../shared/named-file.js";
import { brokenLink, brokenLinkText } from "../sources/broken-link.js";
import { inlineSha256, isServerPath, shownChecksumSpec } from "../sources/checksum.js";
import { isRemoteUrl } from "../sources/git-env.js";
import { expandHome } from "../sources/home-path.js";
import { localLinkReader } from "../sources/local-link.js";
import { type PrivateKeyFacts, privateKeyFacts } from "../sources/ssh/private-key.js";
import { sftpKeyProblem } from "../sources/ssh/sftp-key.js";
import { kindProblems } from "./configured-paths.js";
import { stateRoot } from "./paths.js";
import { type RecordPaths, recordPathProblems } from "./record-paths.js";

interface NamedFile {
  key: string;
  path: string;
  /** known_hosts with its default value: absent is fine (host_fingerprint), a directory is not. */
  mayBeMissing?: boolean;
  /** A known_hosts file may be empty; keys, tokens, CAs and passphrases may not. */
  mayBeEmpty?: boolean;
  /** What the file lets in (a CA, a host key, a signing key): it must not be writable by others. */
  anchors?: string;
  /** A CA's certificate: it must hold one, in PEM (Node's TLS reads anything else as no CA at all). */
  certificate?: boolean;
  /** A private key: what whoever reads it can do. Others must not be able to read it (as OpenSSH asks). */
  privateKey?: string;
}

const CA = "a CA, and so a server in the middle that ship then trusts";
const HOST_KEY = "a host key, and so a server in the middle that ship then trusts";

function sourceFiles(name: string, source: Source): NamedFile[] {
  const key = (k: string) => `sources.${name}.${k}`;
  const files: NamedFile[] = [];
  const add = (k: string, path: string | undefined, extra: Partial<NamedFile> = {}) => {
    if (path !== undefined) files.push({ key: key(k), path, ...extra });
  };
  if (source.type === "https" || source.type === "http")
    add("ca_file", source.ca_file, { anchors: CA, certificate: true });
  if (source.type === "git") {
    add("key_filename", source.key_filename, { privateKey: SSH_KEY_ROLE });
    add("known_hosts", source.known_hosts, { mayBeEmpty: true, anchors: HOST_KEY });
  }
  if (source.type === "sftp") {
    add("key_filename", source.key_filename, { privateKey: SSH_KEY_ROLE });
    add("passphrase_file", source.passphrase_file);
    add("known_hosts", source.known_hosts, { mayBeMissing: true, mayBeEmpty: true, anchors: HOST_KEY });
  }
  return files;
}

const where: Record<"http" | "sftp" | "local", string> = {
  http: "the http(s) URL or absolute path of a .sha256 file",
  sftp: "the absolute path of a .sha256 file on the SFTP server, or one from the login's home (~/… or relative, as remote_path)",
  local: "the absolute path of a .sha256 file",
};

/**
 * `checksum` as each source type reads it: "sha256:" and 64 hex digits, or where a sha256sum file
 * is (an http source fetches an http(s) URL and reads a local path or file:// URL; sftp reads a path
 * on its server; local a local path). A malformed one (the seed's placeholder "sha256:abc123...")
 * was refused only once a download needed it, so a source that stayed up to date ran on with it. A
 * local checksum file is checked like the other files keys name. Not in ship.toml's schema: the
 * seed's own example config holds the placeholder, and loading it must not fail.
 */
function checksumKey(name: string, source: Source): { issues: Issue[]; files: NamedFile[] } {
  if (source.type !== "https" && source.type !== "http" && source.type !== "sftp" && source.type !== "local")
    return { issues: [], files: [] };
  const spec = source.checksum;
  if (spec === undefined || inlineSha256(spec) !== undefined) return { issues: [], files: [] };
  const key = `sources.${name}.checksum`;
  const kind = source.type === "https" ? "http" : source.type;
  const localFile = spec.startsWith("/") || /^file:\/\/./.test(spec);
  const usable =
    kind === "sftp" ? isServerPath(spec) : localFile || (kind === "http" && /^https?:\/\/./.test(spec));
  const refused = (message: string) => ({
    issues: [
      {
        file: "",
        path: key,
        message: `${message} (got ${shownChecksumSpec(spec)})`,
        severity: "error" as const,
      },
    ],
    files: [],
  });
  if (!usable) return refused(`must be "sha256:" and 64 hex digits, or ${where[kind]}`);
  // Checked here, not when the download needs it: a port typo or a space in the host failed the
  // run as "update failed at fetch: Invalid URL" (exit 1, no key named), and a file:// URL naming a
  // host (file://user@host/…) stopped ship with "internal error: Invalid URL".
  if (kind === "http" && !localFile && !URL.canParse(spec))
    return refused("is not a valid URL: check the host name and port");
  const path = spec.startsWith("file://") ? localFilePath(spec) : spec;
  if (path === undefined)
    return refused(
      "a file:// URL must name a file on this host, with no host or login (file:///etc/app.sha256)",
    );
  if (kind === "sftp" || !localFile || !source.security.verify_checksums) return { issues: [], files: [] };
  return { issues: [], files: [{ key, path }] };
}

/** The path a file:// URL names, or undefined when it names another host or does not parse. */
function localFilePath(spec: string): string | undefined {
  try {
    return fileURLToPath(spec);
  } catch {
    return undefined;
  }
}

/** [hub] and [trust] files: what `ship agent` needs before it connects. */
function agentFiles(config: AgentConfig): NamedFile[] {
  const files: NamedFile[] = [];
  if (config.hub?.ca_file !== undefined)
    files.push({ key: "hub.ca_file", path: config.hub.ca_file, anchors: CA, certificate: true });
  return [...files, ...trustFiles(config)];
}

function trustFiles(config: AgentConfig): NamedFile[] {
  return (config.trust?.key_files ?? []).map((path, i) => ({
    key: `trust.key_files[${i}]`,
    path,
    anchors: TRUSTED_KEY_ROLE,
  }));
}

/**
 * The files' problems, as issues: missing, unreadable, a directory, empty (unless it may be), a
 * CA, known_hosts or trusted key that users other than its owner (or another owner than root or
 * ship's user) can write, and an SSH private key that other users can read.
 */
async function fileProblems(files: NamedFile[], configFile: string): Promise<Issue[]> {
  const issues: Issue[] = [];
  for (const file of files) {
    const path = expandHome(file.path);
    if (file.mayBeMissing && (await stat(path).catch(() => undefined)) === undefined) continue;
    let data: Buffer;
    try {
      data = await readNamedFile(
        path,
        { file: configFile, key: file.key },
        { nonEmpty: file.mayBeEmpty !== true },
      );
    } catch (error) {
      if (!(error instanceof BadInputError)) throw error;
      issues.push(...error.issues);
      continue;
    }
    const notCertificate = file.certificate === true ? caCertificateProblem(file.path, data) : undefined;
    if (notCertificate !== undefined)
      issues.push({ file: configFile, path: file.key, message: notCertificate, severity: "error" });
    const unsafe =
      file.anchors !== undefined
        ? await writableByOthersProblem(path, file.anchors)
        : file.privateKey !== undefined && (await holdsPrivateKey(path))
          ? await readableByOthersNote(path, file.privateKey)
          : undefined;
    if (unsafe !== undefined)
      issues.push({ file: configFile, path: file.key, message: unsafe, severity: "error" });
  }
  return issues;
}

/** A `.pub` named by mistake is no secret: sshKeyProblems says what it is instead. */
async function holdsPrivateKey(path: string): Promise<boolean> {
  const text = await readFile(path).catch(() => undefined);
  return text !== undefined && privateKeyFacts(text).armour !== "none";
}

/** Throws the issues as one bad-input error: one line, as a run's report line is one line. */
function refuse(issues: Issue[]): void {
  if (issues.length > 0) throw new BadInputError(issues, issues.map(formatIssue).join("; "));
}

async function check(files: NamedFile[], configFile: string): Promise<void> {
  refuse(await fileProblems(files, configFile));
}

/** One source's files and keys (and [trust]'s, which every standalone release is checked against). */
export async function checkSourceFiles(
  config: AgentConfig,
  name: string,
  source: Source,
  configFile: string,
): Promise<void> {
  refuse([
    ...(await sourceProblems(name, source, configFile)),
    ...(await fileProblems(trustFiles(config), configFile)),
  ]);
}

/**
 * Every source a run will update, checked before the run takes its lock or writes its state: a
 * config that cannot work is bad input (exit 2) with every problem named on one line, and nothing
 * on disk changed — not ship's locks/, not an empty entry in the state file, not another source's app.
 */
export async function checkRunSources(
  config: AgentConfig,
  sources: readonly [string, Source][],
  configFile: string,
  writesState = true,
): Promise<void> {
  const issues: Issue[] = [];
  for (const [name, source] of sources) issues.push(...(await sourceProblems(name, source, configFile)));
  if (sources.length > 0) issues.push(...(await fileProblems(trustFiles(config), configFile)));
  if (sources.length > 0)
    issues.push(...(await scratchDirProblems(config, sources, configFile, writesState)));
  refuse(issues);
}

/**
 * What `ship agent` checks at start of what every instruction writes (the [general] paths of
 * scratchDirProblems, for its enabled sources): a work_dir, backup_dir or state_file where nothing
 * can be created (under /proc) was a bare errno at start (exit 1) or an agent that started and
 * failed every instruction.
 */
export async function checkScratchDirs(
  config: AgentConfig,
  sources: readonly [string, Source][],
  configFile: string,
): Promise<void> {
  refuse(await scratchDirProblems(config, sources, configFile, true, "apps"));
}

/**
 * The directories an update writes before it touches the app: staging (general.work_dir, by default
 * under the state directory) and each app's backups (general.backup_dir/NAME). One ship's user may
 * not write in (left root's by a `sudo ship`) failed the run with a bare "EACCES: permission denied,
 * mkdir '…/work/myapp.staging'" (exit 1), or, for backups, at the apply after the pre_update hooks.
 */
async function scratchDirProblems(
  config: AgentConfig,
  sources: readonly [string, Source][],
  configFile: string,
  writesState: boolean,
  lock: RecordPaths["lock"] = "run",
): Promise<Issue[]> {
  const { general } = config;
  const issues: Issue[] = [];
  const work = general.work_dir ?? join(stateRoot(config), "work");
  const workProblem = await appDirAccessProblem(work);
  if (workProblem !== undefined)
    issues.push(
      error(
        configFile,
        general.work_dir === undefined ? "general.state_file" : "general.work_dir",
        workProblem,
      ),
    );
  for (const [name] of sources) {
    const backups = await appDirAccessProblem(join(general.backup_dir, name));
    if (backups !== undefined) issues.push(error(configFile, "general.backup_dir", backups));
  }
  issues.push(...(await recordPathProblems(config, configFile, { lock, state: writesState })));
  // One problem per key: a state directory /proc cannot hold failed for work/, ship.lock and the file.
  return issues.filter((issue, at) => issues.findIndex((other) => other.path === issue.path) === at);
}

async function sourceProblems(name: string, source: Source, configFile: string): Promise<Issue[]> {
  const clone =
    source.type === "git" ? await cloneProblem(name, source.local_path, source.remote, configFile) : [];
  const local = source.type === "local" ? await localPathProblem(name, source, configFile) : [];
  const appDir = await kindProblems(
    [{ key: `sources.${name}.app_dir`, path: source.app_dir, kind: "directory" }],
    configFile,
  );
  const unusable = appDir.length === 0 ? await appDirAccessProblem(source.app_dir) : undefined;
  if (unusable !== undefined) appDir.push(error(configFile, `sources.${name}.app_dir`, unusable));
  const scheme =
    source.type === "https" && !source.url.startsWith("https://")
      ? [error(configFile, `sources.${name}.url`, 'type = "https" needs an https:// URL')]
      : [];
  const sum = checksumKey(name, source);
  const sumIssues = sum.issues.map((issue) => ({ ...issue, file: configFile }));
  const files = await fileProblems([...sourceFiles(name, source), ...sum.files], configFile);
  // A key is judged once it and its passphrase file could be read: one problem per key, the first.
  const unread = (k: string) => files.some((issue) => issue.path === `sources.${name}.${k}`);
  const keys =
    unread("key_filename") || unread("passphrase_file") ? [] : await sshKeyProblems(name, source, configFile);
  return [...clone, ...local, ...appDir, ...scheme, ...sumIssues, ...files, ...keys];
}

function error(file: string, path: string, message: string): Issue {
  return { file, path, message, severity: "error" };
}

/**
 * A local source's `path` must be there: a release directory, or an archive file. A directory with
 * a `checksum` is refused too: a checksum verifies an archive, and ignoring it would let an operator
 * believe a directory is verified.
 */
async function localPathProblem(name: string, source: LocalSource, configFile: string): Promise<Issue[]> {
  const key = `sources.${name}.path`;
  const found = await stat(source.path).catch((err: unknown) => err);
  if (!(found instanceof Stats)) {
    // A link to a release since deleted read "no such file or directory" of a name `ls` shows;
    // links pointing at each other, "too many levels of symbolic links".
    const code = errnoCode(found);
    const link =
      code === "ENOENT" || code === "ELOOP" ? await lstat(source.path).catch(() => undefined) : undefined;
    if (link?.isSymbolicLink() === true) {
      const broken = await brokenLink(localLinkReader, source.path);
      return [error(configFile, key, `${source.path} ${brokenLinkText(broken, "not there")}`)];
    }
    return [error(configFile, key, `${source.path}: ${fsErrorText(found)}`)];
  }
  if (found.isFile()) return [];
  if (!found.isDirectory())
    return [error(configFile, key, `${source.path} is neither a directory nor a file`)];
  const down = await releaseOneLevelDown(source.path);
  if (down !== undefined) return [error(configFile, key, oneLevelDownMessage(source.path, down))];
  if (source.checksum === undefined) return [];
  return [
    error(
      configFile,
      `sources.${name}.checksum`,
      `a checksum verifies an archive, but ${source.path} is a directory; remove the key or point path at the archive`,
    ),
  ];
}

/**
 * A release unpacked with its top directory (`tar -xzf myapp-1.2.3.tar.gz -C /srv/releases/myapp`
 * gives /srv/releases/myapp/myapp-1.2.3/…): an archive's single top directory holding the manifest
 * is its release root, but a directory is read as it is, and `path` pointing one level up installed
 * `myapp-1.2.3/` inside the app with its manifest as a plain file, under a `tree:…` version. Also
 * when the directory holds more than that release: the tarball it was unpacked from (`cd
 * /srv/releases/myapp && tar -xzf myapp-1.2.3.tar.gz`), a checksum, notes, another version's
 * directory. Returns the directories that hold a manifest, when the directory itself holds none.
 */
async function releaseOneLevelDown(dir: string): Promise<{ nested: string[]; alone: boolean } | undefined> {
  if (await exists(join(dir, MANIFEST_FILENAME))) return undefined;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested: string[] = [];
  for (const entry of entries)
    if (entry.isDirectory() && (await exists(join(dir, entry.name, MANIFEST_FILENAME))))
      nested.push(join(dir, entry.name));
  if (nested.length === 0) return undefined;
  return { nested: nested.sort(), alone: entries.length === 1 };
}

function oneLevelDownMessage(path: string, { nested, alone }: { nested: string[]; alone: boolean }): string {
  const why =
    "(a directory is the release as it is, so this one would be installed one level down with its manifest ignored)";
  const [only] = nested;
  if (alone && only !== undefined)
    return `${path} holds only the directory ${basename(only)}/, and the release's ${MANIFEST_FILENAME} is in it: set path = "${only}" ${why}`;
  const names = nested.map((n) => `${basename(n)}/`).join(", ");
  return nested.length === 1 && only !== undefined
    ? `${path} holds no ${MANIFEST_FILENAME}, but its directory ${names} does: set path = "${only}" ${why}`
    : `${path} holds no ${MANIFEST_FILENAME}, but its directories ${names} do: set path to the release's own directory ${why}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * An SSH key the source cannot use, found before anything is contacted or written. git runs ssh in
 * batch mode with only its own environment, so an encrypted key (or a file that holds no private
 * key, a public key say) only ever reads "Permission denied (publickey)" or "error in libcrypto"
 * on every run. SFTP opens the key with ssh2 and the configured passphrase, as the connection will.
 */
async function sshKeyProblems(name: string, source: Source, configFile: string): Promise<Issue[]> {
  if (source.type === "git" && source.key_filename !== undefined) {
    const path = expandHome(source.key_filename);
    const problem = gitKeyProblem(privateKeyFacts(await readFile(path)), path);
    return problem === undefined ? [] : [error(configFile, `sources.${name}.key_filename`, problem)];
  }
  if (source.type !== "sftp") return [];
  const found = await sftpKeyProblem(name, source);
  return found === undefined ? [] : found.issues.map((issue) => ({ ...issue, file: configFile }));
}

function gitKeyProblem(key: PrivateKeyFacts, path: string): string | undefined {
  if (key.armour === "none")
    return `${path} holds no private key (no "-----BEGIN … PRIVATE KEY-----" block; a public key .pub?)`;
  if (key.encrypted)
    return `${path} is protected by a passphrase, which git's ssh (batch mode, no agent) cannot ask for: use a key without a passphrase for this source`;
  return undefined;
}

/**
 * A git source reads and fetches in its clone: a missing one is bad input naming the key, not
 * simple-git's "Cannot use simple-git on a directory that does not exist" (exit 1). A directory
 * that is not a repository is refused too: git would look for one in its parents and fetch into
 * (and later `reset`) whatever repository holds it, say /etc under etckeeper.
 */
async function cloneProblem(
  name: string,
  localPath: string,
  remote: string,
  configFile: string,
): Promise<Issue[]> {
  const path = expandHome(localPath);
  const found = await stat(path).catch(() => undefined);
  const from = isRemoteUrl(remote) && !mayHoldSecret(remote) ? remote : "REMOTE";
  const clone = `clone the repository there first (git clone ${from} ${path})`;
  const problem =
    found === undefined
      ? `${path} does not exist: ${clone}`
      : !found.isDirectory()
        ? `${path} is not a directory (it must be a git clone)`
        : (await isRepository(path))
          ? undefined
          : `${path} is not a git repository (no .git in it): ${clone}`;
  return problem === undefined
    ? []
    : [{ file: configFile, path: `sources.${name}.local_path`, message: problem, severity: "error" }];
}

/**
 * A remote URL that may carry a credential: a password, a query, or an https user (often a token).
 * `ssh://git@host/…` and `git@host:…` name a login, no secret.
 */
function mayHoldSecret(remote: string): boolean {
  if (!URL.canParse(remote)) return false;
  const url = new URL(remote);
  return url.password !== "" || url.search !== "" || (url.username !== "" && url.protocol !== "ssh:");
}

/** A work tree (`.git`, a directory or a gitfile) or a bare repository (HEAD, objects/, refs/), as git tells them. */
async function isRepository(dir: string): Promise<boolean> {
  if ((await stat(join(dir, ".git")).catch(() => undefined)) !== undefined) return true;
  const [head, objects, refs] = await Promise.all(
    ["HEAD", "objects", "refs"].map((entry) => stat(join(dir, entry)).catch(() => undefined)),
  );
  return head?.isFile() === true && objects?.isDirectory() === true && refs?.isDirectory() === true;
}

/** `ship agent` at start: [hub] ca_file and [trust] key_files. */
export function checkAgentFiles(config: AgentConfig, configFile: string) {
  return check(agentFiles(config), configFile);
}
