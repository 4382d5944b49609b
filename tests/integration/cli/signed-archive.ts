/** A release archive signed by real `ship release keygen` and `sign`, and a ship.toml trusting its key. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { expect } from "vitest";
import { sourceApp } from "../../support/http-app.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

export interface SignedArchive {
  /** `root`/myapp-1.0.0.tar.gz, its .sig beside it (app `web`). */
  archive: string;
  /** A `[trust]` table naming the public key, to append to a ship.toml. */
  trust: string;
}

export async function signedArchive(root: string): Promise<SignedArchive> {
  const archive = join(root, "myapp-1.0.0.tar.gz");
  await writeFile(archive, gzipSync(appRelease("1.0.0")));
  const keygen = await runShip(["release", "keygen", "--out", join(root, "keys")]);
  expect(keygen.code, keygen.stderr).toBe(0);
  const key = join(root, "keys/ship-release.key");
  const sign = await runShip(["release", "sign", "--key", key, "--app", "web", archive]);
  expect(sign.code, sign.stderr).toBe(0);
  return { archive, trust: `\n[trust]\nkey_files = ["${join(root, "keys/ship-release.pub")}"]\n` };
}

/** `dir`/ship.toml and `dir`/app for a local source `web` at `path`, with `extra` appended. */
export function localArchiveApp(
  dir: string,
  path: string,
  extra: string,
): Promise<{ config: string; app: string }> {
  return sourceApp(dir, `type = "local"\npath = "${path}"\n`, extra);
}
