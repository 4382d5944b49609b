/**
 * Opening an SFTP session the way OpenSSH would: key authentication only, the host key checked
 * against known_hosts (or an explicitly configured fingerprint), never trust-on-first-use.
 */
import { readFile } from "node:fs/promises";
import SftpClient from "ssh2-sftp-client";
import { normalFingerprint, type SftpSource as SftpSourceConfig } from "../../../shared/config/schema.js";
import { BadInputError, errorMessage, VerificationError } from "../../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../../shared/fs-errors.js";
import { timerMs } from "../../../shared/schema/durations.js";
import { expandHome } from "../home-path.js";
import {
  GLOBAL_KNOWN_HOSTS,
  globalKnownHosts,
  type HostKeyVerdict,
  hostKeyAlgorithms,
  parseKnownHosts,
  refusedKeyLines,
  sha256Fingerprint,
  verifyHostKey,
  wireKeyType,
} from "./known-hosts.js";
import { clientKeyError, passphraseFor, readSftpKey } from "./sftp-key.js";

/** Unanswered keepalives after which the server is given up. */
const KEEPALIVES = 3;

/** Connect or throw: VerificationError for host key problems (exit 2), the ssh2 error otherwise. */
export async function connectSftp(
  name: string,
  cfg: SftpSourceConfig,
  globalKnownHostsFile: string = GLOBAL_KNOWN_HOSTS,
): Promise<SftpClient> {
  const privateKey = await readSftpKey(name, cfg);
  const knownHostsText = await readFile(expandHome(cfg.known_hosts), "utf8").catch(() => "");
  const knownHosts = [
    ...parseKnownHosts(knownHostsText, cfg.known_hosts),
    ...(await globalKnownHosts(globalKnownHostsFile)),
  ];
  const serverHostKey = hostKeyAlgorithms(knownHosts, cfg.hostname, cfg.port);
  let seen: { verdict: HostKeyVerdict; fingerprint: string; type: string; lines?: string } | undefined;

  // The library's default listeners print to the console: "Global error listener: Connection lost
  // before handshake" beside the run's own line, "Global end listener: end event raised" into a
  // run's report or --json when the server ends a session kept idle between a check and its fetch.
  // Every failure reaches us anyway: an operation's as its rejection, the held session's end as
  // its close (sftp.ts).
  const quiet = () => undefined;
  const client = new SftpClient(`ship:${name}`, { error: quiet, end: quiet, close: quiet });
  try {
    await client.connect({
      host: cfg.hostname,
      port: cfg.port,
      username: cfg.username,
      privateKey,
      passphrase: await passphraseFor(name, cfg),
      // A server that takes the connection and says nothing (a tarpit, sshd at MaxStartups) is
      // silence too: a fixed 20 s ignored timeout_seconds, longer or shorter.
      readyTimeout: timerMs(cfg.timeout_seconds),
      // Without keepalives a server that stops answering (a network cut with no reset, a hung
      // sshd) left the read waiting for ever, with the run's lock held. Four unanswered in a row,
      // one each quarter of timeout_seconds, end the connection.
      keepaliveInterval: Math.max(250, Math.floor(timerMs(cfg.timeout_seconds) / (KEEPALIVES + 1))),
      keepaliveCountMax: KEEPALIVES,
      ...(serverHostKey === undefined ? {} : { algorithms: { serverHostKey } }),
      hostVerifier: (hostKey: Buffer) => {
        const fingerprint = sha256Fingerprint(hostKey);
        let verdict = verifyHostKey(knownHosts, cfg.hostname, cfg.port, hostKey);
        // An explicit fingerprint only vouches for a host known_hosts does not know; it never
        // overrides a mismatch or a revocation.
        if (
          verdict === "unknown" &&
          cfg.host_fingerprint !== undefined &&
          normalFingerprint(cfg.host_fingerprint) === fingerprint
        ) {
          verdict = "match";
        }
        const type = wireKeyType(hostKey);
        const lines = refusedKeyLines(knownHosts, cfg.hostname, cfg.port, hostKey, type);
        seen = { verdict, fingerprint, type, ...(lines === undefined ? {} : { lines }) };
        return verdict === "match";
      },
    });
  } catch (err) {
    await client.end().catch(() => undefined);
    if (seen !== undefined && seen.verdict !== "match") throw hostKeyError(cfg, seen);
    throw clientKeyError(name, cfg, err) ?? loginRefused(name, cfg, err) ?? connectionError(name, cfg, err);
  }
  return client;
}

/**
 * The server would not let `username` in with the key: ssh2's "All configured authentication
 * methods failed" was exit 1 on every run, naming no key (git over ssh and `ship release sftp` name
 * theirs, exit 2). No retry adds the key to authorized_keys.
 */
function loginRefused(name: string, cfg: SftpSourceConfig, err: unknown): BadInputError | undefined {
  // ssh2-sftp-client keeps ssh2's message, not its level ("client-authentication").
  if (!/All configured authentication methods failed/.test(errorMessage(err))) return undefined;
  return BadInputError.single(
    "ship.toml",
    `sources.${name}.key_filename`,
    `sftp://${cfg.username}@${cfg.hostname}:${cfg.port} does not accept the key ${cfg.key_filename} for the user ${cfg.username}: add its public key to that user's ~/.ssh/authorized_keys on the server (or the server takes no keys: ship logs in with a key only)`,
  );
}

/**
 * ssh2-sftp-client's "getConnection: connect ECONNREFUSED 127.0.0.1:22" names neither the source
 * nor what failed in words; the run's line becomes "cannot connect to sftp://u@host:22: connection
 * refused (ECONNREFUSED)". Still exit 1: the server may be back next run.
 */
function connectionError(name: string, cfg: SftpSourceConfig, err: unknown): Error {
  const said = errnoCode(err) !== undefined ? fsErrorText(err) : String((err as Error)?.message ?? err);
  const reason = said
    .replace(/^getConnection: /, "")
    .replace(
      /^Connection lost before handshake$/,
      "the server closed the connection before the SSH handshake (is it an SSH server, and is port right?)",
    )
    .replace(
      /^Timed out while waiting for handshake$/,
      `no SSH greeting within [sources.${name}] timeout_seconds = ${cfg.timeout_seconds} s (ssh2: $&)`,
    );
  return new Error(`cannot connect to sftp://${cfg.username}@${cfg.hostname}:${cfg.port}: ${reason}`);
}

function hostKeyError(
  cfg: SftpSourceConfig,
  seen: { verdict: HostKeyVerdict; fingerprint: string; type: string; lines?: string },
): VerificationError {
  const { verdict, fingerprint, type } = seen;
  const lines = seen.lines ?? `${cfg.known_hosts} or ${GLOBAL_KNOWN_HOSTS}`;
  const host = `${cfg.hostname}:${cfg.port}`;
  if (verdict === "unknown") {
    // The configured fingerprint is named: "set host_fingerprint" read as if none were set.
    const configured =
      cfg.host_fingerprint === undefined
        ? "set"
        : `host_fingerprint = "${cfg.host_fingerprint}" is another key's; set`;
    return new VerificationError(
      `sftp host ${host}`,
      `host key ${fingerprint} is not in ${cfg.known_hosts} (nor ${GLOBAL_KNOWN_HOSTS}); add the host there (ssh-keyscan) or ${configured} host_fingerprint = "${fingerprint}" after checking it`,
    );
  }
  if (verdict === "revoked")
    return new VerificationError(
      `sftp host ${host}`,
      `host key ${fingerprint} is revoked (@revoked in ${lines})`,
    );
  return new VerificationError(
    `sftp host ${host}`,
    `HOST KEY MISMATCH: the server presented its ${type} key ${fingerprint}, which is not the key in ${lines} (possible man-in-the-middle); check the fingerprint with the server's admin, then replace that line`,
  );
}
