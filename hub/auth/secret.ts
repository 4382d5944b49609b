import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BadInputError } from "../../shared/errors.js";

export const MIN_SECRET_BYTES = 32;

export interface SecretOptions {
  dataDir: string;
  /** From hub.toml `jwt_secret_file`. */
  secretFile?: string;
  /** Value of SHIP_HUB_SECRET, when set. */
  envSecret?: string;
}

/**
 * The HS256 signing secret: from the environment, a configured file, or generated once into
 * <data-dir>/secret (mode 600) so `serve` and `token create` with the same data dir agree.
 */
export async function loadSecret(options: SecretOptions): Promise<Buffer> {
  if (options.envSecret !== undefined && options.envSecret !== "")
    return checked(Buffer.from(options.envSecret, "utf8"), "SHIP_HUB_SECRET");
  if (options.secretFile !== undefined)
    return checked(
      Buffer.from((await readFile(options.secretFile, "utf8")).trim(), "utf8"),
      options.secretFile,
    );
  const file = join(options.dataDir, "secret");
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx' so two processes starting at once cannot overwrite each other's secret.
    await writeFile(file, randomBytes(48).toString("base64"), { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return checked(Buffer.from((await readFile(file, "utf8")).trim(), "utf8"), file);
}

function checked(secret: Buffer, where: string): Buffer {
  if (secret.length < MIN_SECRET_BYTES)
    throw BadInputError.single(
      where,
      "jwt_secret",
      `must be at least ${MIN_SECRET_BYTES} bytes, found ${secret.length}`,
    );
  return secret;
}
