/**
 * An SFTP source's private key and its passphrase, as ssh2 will open them. A key ssh2 cannot open
 * (encrypted with no passphrase configured, a wrong passphrase, a file that is no private key) is
 * bad input naming the key: no retry helps. The run checks it before it takes a lock or writes
 * state (configured-files.ts); the connection maps ssh2's own refusal to the same words.
 */
import { readFile } from "node:fs/promises";
import type { SftpSource as SftpSourceConfig } from "../../../shared/config/schema.js";
import { BadInputError, errorMessage } from "../../../shared/errors.js";
import { fsErrorText } from "../../../shared/fs-errors.js";
import { expandHome } from "../home-path.js";

/** The key's bytes; a file that cannot be read is bad input naming key_filename. */
export async function readSftpKey(name: string, cfg: SftpSourceConfig): Promise<Buffer> {
  return readFile(expandHome(cfg.key_filename)).catch((err: unknown) => {
    throw BadInputError.single(
      "ship.toml",
      `sources.${name}.key_filename`,
      `cannot read ${cfg.key_filename}: ${fsErrorText(err)}`,
    );
  });
}

/** The configured passphrase: passphrase_file (without its final newline) or passphrase_env (the config refuses both). */
export async function passphraseFor(name: string, cfg: SftpSourceConfig): Promise<string | undefined> {
  if (cfg.passphrase_file !== undefined) {
    const text = await readFile(expandHome(cfg.passphrase_file), "utf8").catch((err: unknown) => {
      throw BadInputError.single(
        "ship.toml",
        `sources.${name}.passphrase_file`,
        `cannot read ${cfg.passphrase_file}: ${fsErrorText(err)}`,
      );
    });
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

/**
 * What keeps ssh2 from opening the key with the configured passphrase, or undefined when it opens.
 * ssh2 is loaded only here, when a run has an SFTP source.
 */
export async function sftpKeyProblem(
  name: string,
  cfg: SftpSourceConfig,
): Promise<BadInputError | undefined> {
  try {
    const key = await readSftpKey(name, cfg);
    const passphrase = await passphraseFor(name, cfg);
    const { utils } = await import("ssh2");
    const parsed = utils.parseKey(key, passphrase);
    if (parsed instanceof Error) return keyError(name, cfg, parsed.message, key);
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    if (first?.isPrivateKey() === true) return undefined;
    return BadInputError.single(
      "ship.toml",
      `sources.${name}.key_filename`,
      `${cfg.key_filename} holds a public key, not the private key`,
    );
  } catch (error) {
    if (error instanceof BadInputError) return error;
    throw error;
  }
}

/**
 * ssh2's reason for not opening the key ("Encrypted private OpenSSH key detected, but no passphrase
 * given", "Failed to decrypt…", "Unsupported key format"), or its client's "Cannot parse privateKey:
 * …" around one, as bad input naming the key or passphrase setting that is wrong.
 */
export function keyError(
  name: string,
  cfg: SftpSourceConfig,
  text: string,
  keyText?: string | Buffer,
): BadInputError {
  const said = /Cannot parse privateKey: (.*)/.exec(text)?.[1] ?? text;
  const key = `sources.${name}`;
  const file = cfg.key_filename;
  if (/no passphrase given/i.test(said))
    return BadInputError.single(
      "ship.toml",
      `${key}.key_filename`,
      `${file} is encrypted and no passphrase is configured: set passphrase_file or passphrase_env`,
    );
  if (/passphrase|decrypt/i.test(said)) {
    const from = cfg.passphrase_file !== undefined ? "passphrase_file" : "passphrase_env";
    return BadInputError.single(
      "ship.toml",
      `${key}.${from}`,
      `the passphrase does not open ${file} (${said})`,
    );
  }
  // OpenSSL's PKCS#8 form (`openssl genpkey`, `ssh-keygen -m PKCS8`) is a private key ssh2 cannot
  // read; ssh-keygen -p rewrites it in OpenSSH's own format, which it can, keeping the passphrase.
  if (keyText !== undefined && /-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/.test(keyText.toString())) {
    return BadInputError.single(
      "ship.toml",
      `${key}.key_filename`,
      `${file} is a PKCS#8 key, which ssh2 cannot read (${said}): rewrite it in OpenSSH format with ssh-keygen -p -f ${file}`,
    );
  }
  return BadInputError.single(
    "ship.toml",
    `${key}.key_filename`,
    `${file} is not a private key ssh2 can read (${said})`,
  );
}

/** The client's refusal of a key ("Cannot parse privateKey: …"), as keyError; undefined for other errors. */
export function clientKeyError(name: string, cfg: SftpSourceConfig, err: unknown): BadInputError | undefined {
  const text = errorMessage(err);
  return /Cannot parse privateKey: /.test(text) ? keyError(name, cfg, text) : undefined;
}
