/**
 * The agent's side of signatures: which keys ship.toml trusts, and the one check the update
 * pipeline runs before it changes anything.
 */

import { lstat } from "node:fs/promises";
import { readUpTo, TooLargeError } from "../bounded-read.js";
import { NotAFileError, openCompanionFile } from "../companion-file.js";
import { companionTooLargeText, MAX_COMPANION_BYTES } from "../companion-limit.js";
import { companionText } from "../companion-text.js";
import type { Trust } from "../config/schema.js";
import { BadInputError, type Issue } from "../errors.js";
import { TRUSTED_KEY_ROLE, writableByOthersProblem } from "../file-permissions.js";
import { fsErrorText } from "../fs-errors.js";
import { KeyFormatError, splitPublicKeys } from "./keys.js";
import { parseSignature, type ReleaseAtHand, SignatureError, verifyRelease } from "./signature.js";

/**
 * The trusted public keys as text (from `keys` and the contents of `key_files`), each checked to
 * be a usable Ed25519 key, each file writable only by its owner (root or ship's user). Throws BadInputError naming every bad entry (exit 2).
 */
export async function loadTrustedKeys(trust: Trust | undefined, configFile = "ship.toml"): Promise<string[]> {
  if (trust === undefined) return [];
  const keys: string[] = [];
  const issues: Issue[] = [];
  const check = (text: string, path: string, file: string): void => {
    try {
      keys.push(...splitPublicKeys(text));
    } catch (e) {
      if (!(e instanceof KeyFormatError)) throw e;
      issues.push({ file, path, message: e.message, severity: "error" });
    }
  };
  trust.keys.forEach((k, i) => {
    check(k, `trust.keys[${i}]`, configFile);
  });
  for (const [i, keyFile] of trust.key_files.entries()) {
    let text: string;
    try {
      text = (await readUpTo(keyFile, "a key file")).toString("utf8");
    } catch (e) {
      issues.push({
        file: configFile,
        path: `trust.key_files[${i}]`,
        message:
          e instanceof TooLargeError
            ? `${keyFile} ${e.message}`
            : `cannot read ${keyFile}: ${fsErrorText(e)}`,
        severity: "error",
      });
      continue;
    }
    // Read each time a release is checked (ship agent runs for months): a key file made writable
    // by others since the start is refused then, not only at start.
    const unsafe = await writableByOthersProblem(keyFile, TRUSTED_KEY_ROLE);
    if (unsafe !== undefined) {
      issues.push({ file: configFile, path: `trust.key_files[${i}]`, message: unsafe, severity: "error" });
      continue;
    }
    check(text, `trust.key_files[${i}]`, keyFile);
  }
  if (issues.length > 0) throw new BadInputError(issues);
  return keys;
}

export type ReleaseTrustInput = ReleaseAtHand & {
  trust: Trust | undefined;
  /** The signature document (parsed JSON or its text), as the hub sends it... */
  signature?: unknown;
  /** ...or the path of a `.sig` file next to the artifact; a missing file means unsigned. */
  signaturePath?: string;
  /** How messages name that file when it is a copy (the URL or server file it was fetched from). */
  signatureName?: string;
  configFile?: string;
};

export type ReleaseTrustResult =
  | { verified: true; keyId: string }
  | { verified: false; reason: "no trusted keys" };

async function readSignatureFile(path: string): Promise<string | undefined> {
  try {
    // Read at most one byte past the cap: a .sig that is a link to /dev/zero must not fill memory.
    const file = await openCompanionFile(path);
    try {
      const buffer = Buffer.alloc(MAX_COMPANION_BYTES + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      // In the words a .sig over sftp or http is refused in ("is larger than 65536 bytes" here).
      if (bytesRead > MAX_COMPANION_BYTES)
        throw new SignatureError("malformed", `${path} ${companionTooLargeText()}`);
      // An empty file is there (a truncated upload, a failed CI step): not "unsigned".
      if (bytesRead === 0) throw new SignatureError("malformed", `${path} is empty`);
      // As a .sig over http or sftp is read: a UTF-16 one (PowerShell's `>`) is the text it holds.
      return companionText(buffer.subarray(0, bytesRead));
    } finally {
      await file.close();
    }
  } catch (e) {
    if (e instanceof SignatureError) throw e;
    // Worded as the other companions that cannot be read: "cannot read PATH: it is a directory, …".
    if (e instanceof NotAFileError)
      throw new SignatureError("malformed", `cannot read ${path}: ${e.message}`);
    // Only "no such file" means unsigned; a link to nothing is a signature that cannot be read.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      if (!(await isLink(path))) return undefined;
      throw new SignatureError("malformed", `cannot read ${path}: it is a symlink to a missing file`);
    }
    throw new SignatureError("malformed", `cannot read ${path}: ${fsErrorText(e)}`);
  }
}

async function isLink(path: string): Promise<boolean> {
  return lstat(path).then(
    (info) => info.isSymbolicLink(),
    () => false,
  );
}

/**
 * With `[trust]` keys configured, proves the release was signed by one of them over exactly this
 * app, version, artifact and manifest, or throws a VerificationError (exit 2) saying why. Without
 * keys it returns `verified: false` so the caller can say once that releases are unverified.
 */
export async function verifyReleaseTrust(input: ReleaseTrustInput): Promise<ReleaseTrustResult> {
  const keys = await loadTrustedKeys(input.trust, input.configFile);
  if (keys.length === 0) return { verified: false, reason: "no trusted keys" };
  const document =
    input.signature ??
    (input.signaturePath === undefined ? undefined : await readSignatureFile(input.signaturePath));
  const { app, version, artifactSha256, manifestSha256 } = input;
  if (input.signature === undefined && typeof document === "string") {
    // A .sig that is no signature (a login page served 200, a truncated upload): name the file,
    // or the operator is left with "malformed: not JSON" and no idea which file.
    try {
      parseSignature(document);
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      const name = input.signatureName ?? input.signaturePath;
      throw new SignatureError("malformed", `${name}: ${e.message.replace(/^signature: malformed: /, "")}`);
    }
  }
  const keyId = verifyRelease(document, { app, version, artifactSha256, manifestSha256 }, keys);
  return { verified: true, keyId };
}
