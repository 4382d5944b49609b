#!/usr/bin/env node
// Serves one file over plain HTTP for download-memory-bench.mjs, streamed from disk, with the
// headers a release server sends (Content-Length, ETag, Last-Modified) and byte ranges for resumes.
//   node tests/performance/artifact-server.mjs <file>     → prints "serving on http://127.0.0.1:PORT/<name>"
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { basename } from "node:path";

const file = process.argv[2];
if (!file) throw new Error("usage: artifact-server.mjs <file>");
const name = basename(file);
const { size, mtime } = statSync(file);
const etag = `"${size.toString(16)}-${mtime.getTime().toString(16)}"`;

const server = createServer((req, res) => {
  if (new URL(req.url ?? "/", "http://x").pathname !== `/${name}`) {
    res.writeHead(404).end();
    return;
  }
  const headers = { etag, "last-modified": mtime.toUTCString(), "accept-ranges": "bytes" };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  const start = range ? Number(range[1]) : 0;
  const status = range ? 206 : 200;
  res.writeHead(status, {
    ...headers,
    "content-type": "application/gzip",
    "content-length": String(size - start),
    ...(range ? { "content-range": `bytes ${start}-${size - 1}/${size}` } : {}),
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(file, { start }).pipe(res);
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`serving on http://127.0.0.1:${server.address().port}/${name}\n`);
});
process.once("SIGTERM", () => process.exit(0));
