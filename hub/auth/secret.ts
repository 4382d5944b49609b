import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BadInputError } from "../../shared/errors.js";
import { readableByOthersNote } from "../../shared/file-permissions.js";
import { readNamedFile } from "../../shared/named-file.js";

export const MIN_SECRET_BYTES = 32;

export interface SecretOptions {
  dataDir: string;
  /** From hub.toml `jwt_secret_file`. */
  secretFile?: string;
  /** The hub.toml that named secretFile, for messages (default "hub.toml"). */
  configFile?: string;
  /** Value of SHIP_HUB_SECRET, when set. */
  envSecret?: string;
  /** Told when the secret's file may be read by other users (anyone who reads it can mint tokens). */
  warn?: (message: string) => void;
}

/**
 * The HS256 signing secret: from the environment, a configured file, or generated once into
 * <data-dir>/secret (mode 600) so `serve` and `token create` with the same data dir agree.
 */
export async function loadSecret(options: SecretOptions): Promise<Buffer> {
  if (options.envSecret !== undefined && options.envSecret !== "")
    return checked(Buffer.from(options.envSecret, "utf8"), { file: "SHIP_HUB_SECRET", key: "" });
  if (options.secretFile !== undefined) {
    const by = { file: options.configFile ?? "hub.toml", key: "jwt_secret_file" };
    const text = (await readNamedFile(options.secretFile, by)).toString("utf8").trim();
    const secret = checked(Buffer.from(text, "utf8"), by, options.secretFile);
    await warnIfShared(options.secretFile, options.warn, `${by.file} ${by.key}`);
    return secret;
  }
  const file = join(options.dataDir, "secret");
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx' so two processes starting at once cannot overwrite each other's secret.
    await writeFile(file, randomBytes(48).toString("base64"), { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const secret = checked(Buffer.from((await readFile(file, "utf8")).trim(), "utf8"), { file, key: "" });
  await warnIfShared(file, options.warn, "--data-dir");
  return secret;
}

/** `named`: where the file came from (hub.toml's key, or the data dir), said after the note. */
async function warnIfShared(file: string, warn: SecretOptions["warn"], named: string): Promise<void> {
  const note = await readableByOthersNote(file, "can make tokens of any role");
  if (note !== undefined && warn !== undefined) warn(`the JWT secret ${note} (${named})`);
}

/** `by` says where the secret was named; `file`, when it came from one, is the file that holds too few bytes. */
function checked(secret: Buffer, by: { file: string; key: string }, file?: string): Buffer {
  if (secret.length < MIN_SECRET_BYTES)
    throw BadInputError.single(
      by.file,
      by.key,
      `${file === undefined ? "" : `${file} `}must hold at least ${MIN_SECRET_BYTES} bytes, found ${secret.length}${secret.length === 0 ? " (empty)" : ""}`,
    );
  return secret;
}
