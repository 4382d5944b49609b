import { createHash } from "node:crypto";

/** An upload larger than the hub accepts; nothing of it is kept. */
export class ArtifactTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`artifact larger than ${maxBytes} bytes`);
    this.name = "ArtifactTooLarge";
  }
}

/** An upload whose bytes hash to something other than the sha256 the client announced. */
export class ArtifactHashMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`upload hashes to ${actual}, not ${expected}`);
    this.name = "ArtifactHashMismatch";
  }
}

/** An upload with no bytes: no release format is empty, so it is refused rather than stored. */
export class ArtifactEmpty extends Error {
  constructor() {
    super("artifact is empty (0 bytes)");
    this.name = "ArtifactEmpty";
  }
}

/**
 * Re-chunks an upload into fixed-size pieces while hashing and counting it, so the store writes
 * chunk n at byte n·size (a range read then knows which rows to fetch) and memory holds one chunk.
 */
export async function* fixedChunks(
  body: AsyncIterable<Uint8Array>,
  chunkBytes: number,
  maxBytes: number,
  totals: { hash: ReturnType<typeof createHash>; size: number },
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of body) {
    totals.size += piece.length;
    if (totals.size > maxBytes) throw new ArtifactTooLarge(maxBytes);
    totals.hash.update(piece);
    pending.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    pendingBytes += piece.length;
    while (pendingBytes >= chunkBytes) {
      const all = Buffer.concat(pending, pendingBytes);
      yield all.subarray(0, chunkBytes);
      pending = [all.subarray(chunkBytes)];
      pendingBytes -= chunkBytes;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

export function newTotals() {
  return { hash: createHash("sha256"), size: 0 };
}

/** What an upload must be once read whole, before it is stored under its hash. */
export function checkExpected(expected: string | undefined, actual: string, size: number): void {
  if (size === 0) throw new ArtifactEmpty();
  if (expected !== undefined && expected !== actual) throw new ArtifactHashMismatch(expected, actual);
}
