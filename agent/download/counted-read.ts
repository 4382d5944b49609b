/**
 * A file read as a stream that tells a progress callback the bytes read so far, of the file's size
 * (taken from the open descriptor, so it is the size of what is being read).
 */
import { createReadStream, fstatSync } from "node:fs";
import { type Readable, Transform } from "node:stream";
import type { ProgressCallback } from "./progress.js";

export function countedReadStream(
  path: string,
  onProgress: ProgressCallback,
  highWaterMark?: number,
): Readable {
  const file = createReadStream(path, highWaterMark === undefined ? {} : { highWaterMark });
  let size: number | undefined;
  let read = 0;
  file.on("open", (fd: number) => {
    size = fstatSync(fd).size;
  });
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      read += chunk.length;
      onProgress(read, size);
      done(null, chunk);
    },
  });
  // A read error ends the counted stream with it, so the reader fails with the file's own error.
  file.on("error", (err) => counted.destroy(err));
  counted.on("close", () => file.destroy());
  return file.pipe(counted);
}
