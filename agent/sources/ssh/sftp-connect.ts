/**
 * Opening an SFTP session the way OpenSSH would: key authentication only, the host key checked
 * against known_hosts (or an explicitly configured fingerprint), never trust-on-first-use.
 */
import { readFile } from "node:fs/promises";
import SftpClient from "ssh2-sftp-client";
import type { SftpSource as SftpSourceConfig } from "../../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../../shared/fs-errors.js";
import { expandHome } from "../home-path.js";
import { type HostKeyVerdict, parseKnownHosts, sha256Fingerprint, verifyHostKey } from "./known-hosts.js";

/** Connect or throw: VerificationError for host key problems (exit 2), the ssh2 error otherwise. */
export async function connectSftp(name: string, cfg: SftpSourceConfig): Promise<SftpClient> {
  const key = `sources.${name}`;
  const privateKey = await readFile(expandHome(cfg.key_filename)).catch((err: NodeJS.ErrnoException) => {
    throw BadInputError.single(
      "ship.toml",
      `${key}.key_filename`,
      `cannot read ${cfg.key_filename}: ${fsErrorText(err)}`,
    );
  });
  const knownHostsText = await readFile(expandHome(cfg.known_hosts), "utf8").catch(() => "");
  const knownHosts = parseKnownHosts(knownHostsText);
  let seen: { verdict: HostKeyVerdict; fingerprint: string } | undefined;

  const client = new SftpClient(`ship:${name}`);
  try {
    await client.connect({
      host: cfg.hostname,
      port: cfg.port,
      username: cfg.username,
      privateKey,
      passphrase: await passphraseFor(name, cfg),
      readyTimeout: 20_000,
      hostVerifier: (hostKey: Buffer) => {
        const fingerprint = sha256Fingerprint(hostKey);
        let verdict = verifyHostKey(knownHosts, cfg.hostname, cfg.port, hostKey);
        // An explicit fingerprint only vouches for a host known_hosts does not know; it never
        // overrides a mismatch or a revocation.
        if (
          verdict === "unknown" &&
          cfg.host_fingerprint !== undefined &&
          cfg.host_fingerprint === fingerprint
        ) {
          verdict = "match";
        }
        seen = { verdict, fingerprint };
        return verdict === "match";
      },
    });
  } catch (err) {
    await client.end().catch(() => undefined);
    if (seen !== undefined && seen.verdict !== "match")
      throw hostKeyError(cfg, seen.verdict, seen.fingerprint);
    throw keyError(name, cfg, err) ?? connectionError(cfg, err);
  }
  return client;
}

/**
 * ssh2-sftp-client's "getConnection: connect ECONNREFUSED 127.0.0.1:22" names neither the source
 * nor what failed in words; the run's line becomes "cannot connect to sftp://u@host:22: connection
 * refused (ECONNREFUSED)". Still exit 1: the server may be back next run.
 */
function connectionError(cfg: SftpSourceConfig, err: unknown): Error {
  const said = errnoCode(err) !== undefined ? fsErrorText(err) : String((err as Error)?.message ?? err);
  const reason = said.replace(/^getConnection: /, "");
  return new Error(`cannot connect to sftp://${cfg.username}@${cfg.hostname}:${cfg.port}: ${reason}`);
}

/**
 * ssh2 refuses a key it cannot open before it connects: an encrypted key with no passphrase
 * configured, a wrong passphrase, a file that is no private key. Retrying never helps, so it is bad
 * input naming the key (exit 2), not ssh2's bare "Cannot parse privateKey: …" behind exit 1.
 */
function keyError(name: string, cfg: SftpSourceConfig, err: unknown): BadInputError | undefined {
  const text = err instanceof Error ? err.message : String(err);
  const said = /Cannot parse privateKey: (.*)/.exec(text)?.[1];
  if (said === undefined) return undefined;
  const key = `sources.${name}`;
  const file = cfg.key_filename;
  if (/no passphrase given/i.test(said))
    return BadInputError.single(
      "ship.toml",
      `${key}.key_filename`,
      `${file} is encrypted and no passphrase is configured: set passphrase_file or passphrase_env`,
    );
  if (/passphrase/i.test(said)) {
    const from = cfg.passphrase_file !== undefined ? "passphrase_file" : "passphrase_env";
    return BadInputError.single(
      "ship.toml",
      `${key}.${from}`,
      `the passphrase does not open ${file} (${said})`,
    );
  }
  return BadInputError.single(
    "ship.toml",
    `${key}.key_filename`,
    `${file} is not a private key ssh2 can read (${said})`,
  );
}

function hostKeyError(
  cfg: SftpSourceConfig,
  verdict: HostKeyVerdict,
  fingerprint: string,
): VerificationError {
  const host = `${cfg.hostname}:${cfg.port}`;
  if (verdict === "unknown") {
    return new VerificationError(
      `sftp host ${host}`,
      `host key ${fingerprint} is not in ${cfg.known_hosts}; add the host there (ssh-keyscan) or set host_fingerprint = "${fingerprint}" after checking it`,
    );
  }
  if (verdict === "revoked")
    return new VerificationError(`sftp host ${host}`, `host key ${fingerprint} is revoked`);
  return new VerificationError(
    `sftp host ${host}`,
    `HOST KEY MISMATCH: the server presented ${fingerprint}, which is not the key in ${cfg.known_hosts} (possible man-in-the-middle)`,
  );
}

async function passphraseFor(name: string, cfg: SftpSourceConfig): Promise<string | undefined> {
  if (cfg.passphrase_file !== undefined) {
    const text = await readFile(expandHome(cfg.passphrase_file), "utf8").catch(
      (err: NodeJS.ErrnoException) => {
        throw BadInputError.single(
          "ship.toml",
          `sources.${name}.passphrase_file`,
          `cannot read ${cfg.passphrase_file}: ${fsErrorText(err)}`,
        );
      },
    );
    return text.replace(/\r?\n$/, "");
  }
  if (cfg.passphrase_env !== undefined) {
    const value = process.env[cfg.passphrase_env];
    if (value === undefined) {
      throw BadInputError.single(
        "ship.toml",
        `sources.${name}.passphrase_env`,
        `${cfg.passphrase_env} is not set`,
      );
    }
    return value;
  }
  return undefined;
}
