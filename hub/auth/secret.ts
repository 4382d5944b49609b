import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, link, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { BadInputError } from "../../shared/errors.js";
import { readableByOthersNote } from "../../shared/file-permissions.js";
import { type NamedBy, readNamedFile } from "../../shared/named-file.js";
import { makeDataDir } from "../store/open-sqlite.js";

export const MIN_SECRET_BYTES = 32;

export interface SecretOptions {
  dataDir: string;
  /** From hub.toml `jwt_secret_file`. */
  secretFile?: string;
  /** The hub.toml that named secretFile, for messages (default "hub.toml"). */
  configFile?: string;
  /** Where dataDir was named (a flag or hub.toml's data_dir), for messages; default --data-dir. */
  dataDirBy?: NamedBy;
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
  if (options.envSecret !== undefined && options.envSecret !== "") return envSecret(options.envSecret);
  if (options.secretFile !== undefined) {
    const by = { file: options.configFile ?? "hub.toml", key: "jwt_secret_file" };
    const text = (await readNamedFile(options.secretFile, by)).toString("utf8").trim();
    const secret = checked(Buffer.from(text, "utf8"), by, options.secretFile);
    await warnIfShared(options.secretFile, options.warn, `${by.file} ${by.key}`);
    return secret;
  }
  const file = join(options.dataDir, "secret");
  await makeDataDir(options.dataDir, options.dataDirBy);
  await placeSecret(file, "if-absent");
  let text = (await readFile(file, "utf8")).trim();
  if (text === "") {
    // Left empty by an older hub whose first start was cut short (created, not yet written or
    // synced when the power went): every start then failed "must hold at least 32 bytes, found 0".
    // No token can have been signed with it, so a new one takes its place.
    await placeSecret(file, "replace");
    text = (await readFile(file, "utf8")).trim();
    options.warn?.(`${file} was empty (a first start cut short?): a new secret was generated in its place`);
  }
  const secret = checked(Buffer.from(text, "utf8"), { file, key: "" });
  await warnIfShared(file, options.warn, "--data-dir");
  return secret;
}

/**
 * A new secret at `file`, whole and synced before it appears: written in place, a process reading it
 * meanwhile (a `token create` beside a first `serve`) found it empty, and so did every start after
 * a crash between its creation and its write. `if-absent`: one that exists is kept (two processes
 * starting at once agree on the first).
 */
async function placeSecret(file: string, how: "if-absent" | "replace"): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(randomBytes(48).toString("base64"));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (how === "replace") await rename(temp, file);
    else
      await link(temp, file).catch(async (error: NodeJS.ErrnoException) => {
        // A file system without hard links: an exclusive copy, created only when absent all the same.
        if (error.code !== "EPERM" && error.code !== "ENOTSUP" && error.code !== "EOPNOTSUPP") throw error;
        await copyFile(temp, file, constants.COPYFILE_EXCL);
      });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/** `named`: where the file came from (hub.toml's key, or the data dir), said after the note. */
async function warnIfShared(file: string, warn: SecretOptions["warn"], named: string): Promise<void> {
  const note = await readableByOthersNote(file, "can make tokens of any role");
  if (note !== undefined && warn !== undefined) warn(`the JWT secret ${note} (${named})`);
}

/** `by` says where the secret was named; `file`, when it came from one, is the file that holds too few bytes. */
/**
 * SHIP_HUB_SECRET, as given (a hub that signed with it keeps its tokens valid), but counted without
 * the white space at its ends, as a jwt_secret_file is: 40 spaces passed as a 40-byte secret, while
 * a file holding them was refused as empty.
 */
function envSecret(value: string): Buffer {
  const counted = Buffer.byteLength(value.trim(), "utf8");
  if (counted < MIN_SECRET_BYTES)
    throw BadInputError.single(
      "SHIP_HUB_SECRET",
      "",
      `must hold at least ${MIN_SECRET_BYTES} bytes besides white space at its ends, found ${counted}${counted === 0 ? " (only white space)" : ""}`,
    );
  return Buffer.from(value, "utf8");
}

function checked(secret: Buffer, by: { file: string; key: string }, file?: string): Buffer {
  if (secret.length < MIN_SECRET_BYTES)
    throw BadInputError.single(
      by.file,
      by.key,
      `${file === undefined ? "" : `${file} `}must hold at least ${MIN_SECRET_BYTES} bytes, found ${secret.length}${secret.length === 0 ? " (empty)" : ""}`,
    );
  return secret;
}
