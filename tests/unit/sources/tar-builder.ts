/**
 * Builds tar archives byte by byte, including ones no honest tool would write (absolute paths,
 * `..`, devices, setuid bits), so extraction tests can prove each refusal.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header } from "tar";

export interface RawEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "BlockDevice" | "FIFO";
  mode?: number;
  body?: string | Buffer;
  linkpath?: string;
  /** Default 2024-01-02T03:04:05Z. */
  mtime?: Date;
}

const BLOCK = 512;

export function buildTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    const type = e.type ?? "File";
    const header = new Header({
      path: e.path,
      type,
      mode: e.mode ?? (type === "Directory" ? 0o755 : 0o644),
      size: type === "File" ? body.length : 0,
      linkpath: e.linkpath,
      mtime: e.mtime ?? new Date("2024-01-02T03:04:05Z"),
      uid: 0,
      gid: 0,
      uname: "root",
      gname: "root",
    });
    const block = Buffer.alloc(BLOCK);
    header.encode(block, 0);
    blocks.push(block);
    if (type === "File" && body.length > 0) {
      blocks.push(body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
    }
  }
  blocks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(blocks);
}

/**
 * The smallest release: its manifest naming `version` and app.txt holding `app <version>\n`, as an
 * uncompressed tar (releases whose versions have as many characters are the same size; gzip it
 * for a .tar.gz).
 */
export function appRelease(version: string): Buffer {
  return buildTar([
    { path: "update-manifest.yaml", body: `version: "${version}"\n` },
    { path: "app.txt", body: `app ${version}\n` },
  ]);
}

/** Write `entries` as `<dir>/<name>`; gzipped when the name ends in .gz or .tgz. */
export async function writeArchive(dir: string, name: string, entries: RawEntry[]): Promise<string> {
  const tar = buildTar(entries);
  const path = join(dir, name);
  await writeFile(path, /\.(tgz|gz)$/.test(name) ? gzipSync(tar) : tar);
  return path;
}
