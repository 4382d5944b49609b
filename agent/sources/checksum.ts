/** Checksums as the config writes them: "sha256:<hex>", or the URL/path of a sha256sum file. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { companionTooLargeText, MAX_COMPANION_BYTES } from "../../shared/companion-limit.js";
import { companionText } from "../../shared/companion-text.js";
import { BadInputError, VerificationError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { urlUpToHost } from "../../shared/schema/zod-problems.js";

export { MAX_COMPANION_BYTES };

/**
 * The one refusal of a checksum or signature file past the limit, from any source: bad input (exit
 * 2), nothing a retry could mend. Over HTTP it was a failed download (exit 1) where SFTP and a
 * local path said exit 2. `how` says how it got so large (" once decompressed …"), `then` what it
 * therefore is not.
 */
export const companionTooLarge = (where: string, how = "", then = ""): VerificationError =>
  new VerificationError(where, companionTooLargeText(how, then));

export type ChecksumSpec = { kind: "inline"; sha256: string } | { kind: "file"; location: string };

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * `sha256:<hex>`, the algorithm's name in any case as the hex is: "SHA256:…" (as sha256sum --tag
 * and most release pages spell it) was refused as neither a checksum nor a URL. The 64 digits alone
 * too, as `sha256sum` and PowerShell's Get-FileHash print them: that was refused the same way.
 */
const INLINE = /^(?:sha256:([0-9a-f]+)|([0-9a-f]{64}))$/i;

function inlineHex(spec: string): string | undefined {
  const m = INLINE.exec(spec.trim());
  return (m?.[1] ?? m?.[2])?.toLowerCase();
}

/** The sha256 a well-formed inline checksum gives, lower-case; undefined for anything else. */
export function inlineSha256(spec: string): string | undefined {
  const hex = inlineHex(spec);
  return hex !== undefined && HEX64.test(hex) ? hex : undefined;
}

/**
 * Where a checksum file is, as a source reads it: "local" an http(s) or file:// URL or an absolute
 * path (http and local sources); "server" a path on the SFTP server, written as its `remote_path`
 * may be: absolute, from the login's home (`~/…`) or relative to it.
 */
export type ChecksumPaths = "local" | "server";

/**
 * A path on an SFTP server: anything but a URL or a `word:` prefix (the seed's placeholder
 * "sha256:abc123..." is no file name). `~/releases/app.tar.gz.sha256` was refused as "not an
 * absolute path" while `remote_path` beside it took `~/` and relative paths.
 */
export function isServerPath(spec: string): boolean {
  return spec.trim() !== "" && !/^[A-Za-z][\w+.-]*:/.test(spec);
}

/**
 * A `checksum` value as an error quotes it. One that is a URL, or names a login (`user:password@`),
 * is shown up to its host with the login masked: quoted whole, `checksum = "ftp://user:PASSWORD@…"`
 * put the password on stderr, into the state file's last_error and the reports sent to the hub.
 */
export function shownChecksumSpec(spec: string): string {
  return JSON.stringify(spec.includes("://") || /^[^/]*@/.test(spec) ? urlUpToHost(spec) : spec);
}

export function parseChecksumSpec(spec: string, where: string, paths: ChecksumPaths = "local"): ChecksumSpec {
  const hex = inlineHex(spec);
  if (hex !== undefined) {
    if (!HEX64.test(hex)) throw new VerificationError(where, `checksum ${spec} is not 64 hex digits`);
    return { kind: "inline", sha256: hex };
  }
  if (paths === "server" ? isServerPath(spec) : /^(https?|file):\/\//.test(spec) || spec.startsWith("/"))
    return { kind: "file", location: spec };
  throw new VerificationError(
    where,
    paths === "server"
      ? `checksum must be "sha256:<hex>" or the path of a .sha256 file on the SFTP server, got ${shownChecksumSpec(spec)}`
      : `checksum must be "sha256:<hex>" or the URL of a .sha256 file, got ${shownChecksumSpec(spec)}`,
  );
}

/**
 * The sha256 an inline `checksum = "sha256:<hex>"` pins, else undefined (a malformed one is refused
 * when the release is fetched). A source whose record of the installed artifact has another sha256
 * asks again instead of trusting its ETag or size + mtime.
 */
export function pinnedSha256(checksum: string | undefined): string | undefined {
  return checksum === undefined ? undefined : inlineSha256(checksum);
}

/** The hash a checksum file gives a download, and the other file its only line names, if it does. */
export interface Sha256Sum {
  sha256: string;
  /** The name on the file's only line when that is not the download's: it is applied all the same. */
  otherFile?: string;
}

/**
 * `sha256sum --tag`'s "SHA256 (name) = HEX", in any case, and `openssl dgst -sha256`'s
 * "SHA2-256(name)= HEX" (OpenSSL 3; "SHA256(name)= HEX" before): a file made with openssl was
 * refused as "not a sha256sum line".
 */
const TAGGED = /^SHA(?:2-)?256 ?\((.+)\) ?= ?([0-9a-f]{64})$/i;

/**
 * The hash for the download in sha256sum output ("<hex>  name" or "<hex> *name" lines, or
 * the tagged lines TAGGED reads). `names` are the names the download goes by: its own first, then
 * the one the server led to (the file an http redirect or an sftp/local `latest` link ends at:
 * `SHA256SUMS` lists `myapp-1.2.3.tar.gz`, never `latest.tar.gz`). A file with a single bare hash,
 * or a single line, applies to whatever was downloaded: `sha256sum myapp-1.2.3.tar.gz > …` beside a
 * file served as `release.tar.gz` is the seed's own way.
 */
export function sha256SumFor(
  text: string,
  names: string | readonly string[],
  where: string,
  nameHint?: string,
): Sha256Sum {
  const found = findSha256(text, names, where);
  if (found !== undefined) return found;
  // The names it does list: a release served under another name (a GitHub asset URL ending in
  // its id) read "no sha256 for 123" with nothing to compare it with.
  const listed = sumEntries(text, where).flatMap((e) => (e.name === undefined ? [] : [baseName(e.name)]));
  const lists =
    listed.length === 0
      ? ""
      : `; it lists ${listed.slice(0, 5).join(", ")}${listed.length > 5 ? ` and ${listed.length - 5} more` : ""}`;
  throw new VerificationError(
    where,
    `no sha256 for ${nameList(names).join(" or ")} in the checksum file${lists}${nameHint === undefined ? "" : `; ${nameHint}`}`,
  );
}

/**
 * As sha256SumFor, but undefined where that finds no line for any of `names` among several: a
 * check that knows only the configured name yet (not where a redirect leads) asks again later.
 */
export function findSha256(
  text: string,
  names: string | readonly string[],
  where: string,
): Sha256Sum | undefined {
  const wanted = nameList(names);
  const entries = sumEntries(text, where);
  const named = entries.find((e) => e.name !== undefined && wanted.includes(baseName(e.name)));
  if (named) return { sha256: named.hex };
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only === undefined) return undefined;
  return only.name === undefined ? { sha256: only.hex } : { sha256: only.hex, otherFile: only.name };
}

function nameList(names: string | readonly string[]): string[] {
  return [...new Set(typeof names === "string" ? [names] : names)];
}

/**
 * "<hex>  name" or "<hex> *name" (sha256sum, shasum), the hex alone, and "sha256:<hex>", the form
 * ship.toml's inline `checksum` takes, which scripts and registries (digests) write to a file too.
 */
const PLAIN = /^(?:sha256:)?([0-9a-f]{64})(?:\s+\*?(.+))?$/i;

/** The file's lines as hash and name; a line that is no sha256sum line is refused, saying what it is. */
function sumEntries(text: string, where: string): { hex: string; name: string | undefined }[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  return lines.map((whole) => {
    // GNU sha256sum starts a line with "\" when the name holds a backslash or a line break, which
    // it then writes as \\ and \n: such a line refused the whole SHA256SUMS of a release directory.
    const escaped = whole.startsWith("\\");
    const line = escaped ? whole.slice(1) : whole;
    const m = PLAIN.exec(line);
    const tagged = m === null ? TAGGED.exec(line) : null;
    const algorithm =
      m === null && tagged === null ? /^([A-Za-z][\w-]*) ?\(.+\) ?= ?[0-9a-fA-F]+$/.exec(line) : null;
    // Another algorithm's file in its place (a .sha512, an md5 list) read "not a sha256sum line".
    if (
      binaryKind(text, line) === undefined &&
      algorithm?.[1] !== undefined &&
      !/^SHA(2-)?256$/i.test(algorithm[1])
    )
      throw new VerificationError(
        where,
        `a checksum made with ${algorithm[1].toUpperCase()}, not sha256 (ship verifies sha256): ${line.slice(0, 80)}`,
      );
    if (m === null && tagged === null)
      throw new VerificationError(
        where,
        // A login or error page served with 200 in its place: said so, not quoted as a bad line.
        /^(\uFEFF)?<(!doctype|html|\?xml|head|body)\b/i.test(lines[0] ?? "")
          ? "is an HTML or XML page (a login or error page?), not a sha256sum file"
          : (binaryKind(text, line) ?? `not a sha256sum line: ${line.slice(0, 80)}`),
      );
    const [hex, name] = m === null ? [tagged?.[2], tagged?.[1]] : [m[1], m[2]];
    // Only \\ is undone: a line break stays written as \n, as a name in a one-line message must.
    const shown = escaped ? name?.replaceAll("\\\\", "\\") : name;
    return { hex: (hex as string).toLowerCase(), name: shown?.trim() };
  });
}

/**
 * What a checksum file that is no text is, for a refusal that quotes none of it: a SHA256SUMS.gz
 * served as stored, or `checksum` naming the archive itself, was quoted back as "not a sha256sum
 * line: \x1f\x8b…", NULs and U+FFFD in the terminal, the log and --json. Control characters
 * (not tab, CR, LF, FF) anywhere, or bytes that are no UTF-8 in the `line` that is no sha256sum
 * line, mark it (a Latin-1 name on a good line is text); undefined for text.
 */
function binaryKind(text: string, line: string): string | undefined {
  // A gzip file's magic, 1f 8b, reads as U+001F then U+FFFD (0x8b begins no UTF-8 character).
  if (text.startsWith("\u001f\ufffd"))
    return "is gzip-compressed (a .gz, or the release archive itself?), not a sha256sum file: name the uncompressed file";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  if (/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text) || line.includes("\ufffd"))
    return "is a binary file (the release archive itself?), not a sha256sum file";
  return undefined;
}

/**
 * A checksum mismatch against a file whose only line names another file than the download says
 * so: "expected X, got Y" alone sent operators after a corrupt download when the checksum file was
 * left from another release, or made for another file. Other errors pass unchanged.
 */
export function withChecksumOrigin(
  err: unknown,
  sum: Sha256Sum | undefined,
  fileName: string,
  where: string,
): unknown {
  if (
    sum?.otherFile === undefined ||
    !(err instanceof VerificationError) ||
    !/: checksum mismatch: /.test(err.message)
  )
    return err;
  return new VerificationError(
    err.what,
    `${err.message.slice(err.what.length + 2)} (the checksum file ${where} has one line, for ${sum.otherFile}, not ${fileName}: one left from another release, or made for another file?)`,
  );
}

export function verifySha256(actual: string, expected: string, what: string): void {
  if (actual !== expected) {
    throw new VerificationError(what, `checksum mismatch: expected sha256 ${expected}, got ${actual}`);
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * A local sha256sum file the config names (`checksum = "/path/app.tar.gz.sha256"`): at most
 * MAX_COMPANION_BYTES, and one that cannot be read is bad input naming the key, not a bare errno.
 */
export async function readChecksumFile(file: string, key: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, "r");
  } catch (err) {
    throw BadInputError.single("ship.toml", key, `cannot read ${file}: ${fsErrorText(err)}`);
  }
  try {
    const buffer = Buffer.alloc(MAX_COMPANION_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_COMPANION_BYTES) throw companionTooLarge(file, "", ": not a checksum file");
    return companionText(buffer.subarray(0, bytesRead));
  } catch (err) {
    if (err instanceof VerificationError || errnoCode(err) === undefined) throw err;
    throw BadInputError.single("ship.toml", key, `cannot read ${file}: ${fsErrorText(err)}`);
  } finally {
    await handle.close();
  }
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}
