/**
 * The most of a `.sha256` or `.sig` companion file ship reads, from any source (HTTP, SFTP, a local
 * path) and wherever it is read (the source, the signature check): a checksum or signature is a few
 * hundred bytes, and a huge file (or a link to /dev/zero) must not be read into memory.
 */
import { sizeText } from "./size-text.js";

export const MAX_COMPANION_BYTES = 64 * 1024;

/**
 * What is said of one past the limit, after its name: `how` says how it got so large (" once
 * decompressed …"), `then` what it therefore is not.
 */
export const companionTooLargeText = (how = "", then = ""): string =>
  `is larger than ${sizeText(MAX_COMPANION_BYTES)}${how}, the most a checksum or signature file may hold${then}`;
