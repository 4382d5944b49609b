/**
 * A real OpenSSH sshd for tests: 127.0.0.1 on a free high port, a generated host key, one
 * authorized client key, a known_hosts file naming it, and internal-sftp. Needs /usr/sbin/sshd
 * (Debian: openssh-server); run as root it accepts the current user (root) by key only.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SftpSource } from "../../../shared/config/schema.js";
import { freePort } from "./free-port.js";

const run = promisify(execFile);
export const SSHD = "/usr/sbin/sshd";
/** OpenSSH's sftp server as a program (Debian's path), for sessions whose requests are logged. */
const SFTP_SERVER = "/usr/lib/openssh/sftp-server";

export interface SshKeyPair {
  privateKeyFile: string;
  publicKeyFile: string;
  /** The `type base64 comment` line. */
  publicKey: string;
}

export interface SshdServer {
  host: "127.0.0.1";
  port: number;
  user: string;
  hostKey: SshKeyPair;
  /** "SHA256:..." of the host key, as ssh-keygen -l prints it. */
  hostFingerprint: string;
  clientKey: SshKeyPair;
  /** A known_hosts file with `[127.0.0.1]:<port> <host key>`. */
  knownHostsFile: string;
  /** The public line of every host key by type (`ed25519`, and each of `extraHostKeyTypes`). */
  hostKeys: Record<string, string>;
  /** Everything sshd wrote to stderr, for failing tests. */
  log(): string;
  /** Where sftp-server logs each request, with `logSftpRequests` (absent until a session). */
  sftpLogFile: string;
  close(): Promise<void>;
}

export interface SshdOptions {
  /** Protect the client key with this passphrase. */
  clientPassphrase?: string;
  /** The umask internal-sftp applies to files it creates (e.g. "000", as some servers are set up). */
  sftpUmask?: string;
  /**
   * SFTP requests the server answers "permission denied" (internal-sftp -P, e.g. "open" or
   * "stat,lstat"): a file the login user may not read, met even when the tests run as root.
   */
  sftpDenied?: string;
  /**
   * Host keys of these types besides the Ed25519 one, as real servers have (`ssh-keygen -A`):
   * `hostKeys` then holds each key's public line by type.
   */
  extraHostKeyTypes?: readonly ("ecdsa" | "rsa")[];
  /**
   * Serve sftp with OpenSSH's sftp-server logging each request (open, stat, lstat, close…) to
   * `sftpLogFile`, so a test counts what a client asked. internal-sftp cannot log there: its
   * stderr is the session's, sent to the client.
   */
  logSftpRequests?: boolean;
}

export async function generateKey(
  file: string,
  passphrase = "",
  type: "ed25519" | "ecdsa" | "rsa" = "ed25519",
): Promise<SshKeyPair> {
  // -a 1: one KDF round, so decrypting a passphrase-protected key costs milliseconds, not a second.
  await run("ssh-keygen", [
    "-q",
    "-t",
    type,
    ...(type === "rsa" ? ["-b", "2048"] : []),
    "-a",
    "1",
    "-N",
    passphrase,
    "-C",
    "ship-test",
    "-f",
    file,
  ]);
  return {
    privateKeyFile: file,
    publicKeyFile: `${file}.pub`,
    publicKey: (await readFile(`${file}.pub`, "utf8")).trim(),
  };
}

export function fingerprintOf(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.split(/\s+/)[1] ?? "", "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Start sshd with everything under `dir` (the caller removes `dir` after close()). */
export async function startSshd(dir: string, options: SshdOptions = {}): Promise<SshdServer> {
  await mkdir(dir, { recursive: true });
  // sshd refuses to start without its privilege-separation directory.
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKey = await generateKey(join(dir, "host_ed25519"));
  const clientKey = await generateKey(join(dir, "client_ed25519"), options.clientPassphrase ?? "");
  const hostKeys: Record<string, string> = { ed25519: hostKey.publicKey };
  const extraHostKeyFiles: string[] = [];
  for (const type of options.extraHostKeyTypes ?? []) {
    const extra = await generateKey(join(dir, `host_${type}`), "", type);
    hostKeys[type] = extra.publicKey;
    extraHostKeyFiles.push(`HostKey ${extra.privateKeyFile}`);
  }
  await writeFile(join(dir, "authorized_keys"), `${clientKey.publicKey}\n`, { mode: 0o600 });
  const port = await freePort();
  const sftpLogFile = join(dir, "sftp-server.log");
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${hostKey.privateKeyFile}`,
    ...extraHostKeyFiles,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    // Temp dirs are world-traversable; StrictModes would reject the authorized_keys path.
    "StrictModes no",
    "UsePAM no",
    `Subsystem sftp ${options.logSftpRequests === true ? SFTP_SERVER : "internal-sftp"}${options.sftpUmask === undefined ? "" : ` -u ${options.sftpUmask}`}${options.sftpDenied === undefined ? "" : ` -P ${options.sftpDenied}`}${options.logSftpRequests === true ? ` -e -l VERBOSE 2>>${sftpLogFile}` : ""}`,
    "LogLevel VERBOSE",
  ].join("\n");
  const configFile = join(dir, "sshd_config");
  await writeFile(configFile, `${config}\n`);
  const knownHostsFile = join(dir, "known_hosts");
  await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostKey.publicKey}\n`);

  const child = spawn(SSHD, ["-D", "-e", "-f", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  await waitForBanner(port, child, () => stderr);
  return {
    host: "127.0.0.1",
    port,
    user: userInfo().username,
    hostKey,
    hostFingerprint: fingerprintOf(hostKey.publicKey),
    hostKeys,
    clientKey,
    knownHostsFile,
    log: () => stderr,
    sftpLogFile,
    close: () => stop(child),
  };
}

async function waitForBanner(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${stderr()}`);
    if (await bannerSeen(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGTERM");
  throw new Error(`sshd did not answer on port ${port}: ${stderr()}`);
}

function bannerSeen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.setTimeout(1000);
    socket.once("data", (d: Buffer) => {
      socket.destroy();
      resolve(d.toString().startsWith("SSH-"));
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * An sftp source of `sshd` reading `remotePath` as its user with its client key, checked against
 * its known_hosts file unless `extra` says otherwise.
 */
export function sftpSourceOf(
  sshd: SshdServer,
  remotePath: string,
  extra: Record<string, unknown> = {},
): SftpSource {
  return SftpSource.parse({
    type: "sftp",
    app_dir: "/opt/app",
    hostname: sshd.host,
    port: sshd.port,
    username: sshd.user,
    key_filename: sshd.clientKey.privateKeyFile,
    known_hosts: sshd.knownHostsFile,
    remote_path: remotePath,
    ...extra,
  });
}

/** What `sftpShipToml` writes besides the server's own keys. */
export interface SftpShipTomlOptions {
  /** The test's directory: state, backups under `<root>/var`, the app at `<root>/app`. */
  root: string;
  /** The release file on the server. */
  remotePath: string;
  /** The `[sources.<name>]` table's name (default "myapp"). */
  name?: string;
  /** Another port than the server's (a relay in front of it). */
  port?: number;
  /** More lines of the source's table (`key = value\n`…). */
  sourceKeys?: string;
  /** Tables after the source's (`[trust]`…). */
  after?: string;
}

/**
 * A whole ship.toml with one sftp source of `sshd` (its user, client key and known_hosts file) and
 * `min_interval_hours = 0`, as an operator's timer-mode config for that server.
 */
export function sftpShipToml(sshd: SshdServer, options: SftpShipTomlOptions): string {
  const { root, remotePath, name = "myapp", port = sshd.port, sourceKeys = "", after = "" } = options;
  const text = (value: string) => JSON.stringify(value);
  return (
    `[general]\nstate_file = ${text(`${root}/var/state.json`)}\nbackup_dir = ${text(`${root}/var/backups`)}\n` +
    `min_interval_hours = 0\n\n` +
    `[sources.${name}]\ntype = "sftp"\nhostname = ${text(sshd.host)}\nport = ${port}\nusername = ${text(sshd.user)}\n` +
    `key_filename = ${text(sshd.clientKey.privateKeyFile)}\nknown_hosts = ${text(sshd.knownHostsFile)}\n` +
    `remote_path = ${text(remotePath)}\napp_dir = ${text(`${root}/app`)}\n${sourceKeys}` +
    (after === "" ? "" : `\n${after}`)
  );
}
