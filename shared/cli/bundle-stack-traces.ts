/**
 * Stack traces of a code-cached bundle in its `.ts` sources. Node 20 applies source maps to what its
 * own loaders compile, never to a vm.Script (shared/cli/code-cache.ts runs the bundle as one), so
 * `ship agent` — a daemon whose logged stack traces should name ship's sources — maps the frames in
 * its bundle itself, with the bundle's linked map read on the first stack trace made (a daemon that
 * logs none never reads it). Frames elsewhere (Node's, an external package's) keep Node's text.
 */
import { readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { dirname, resolve } from "node:path";

/**
 * Maps `bundleFile`'s frames through `<bundleFile>.map` in every stack trace from now on. The bundle
 * runs inside a wrapper that adds `firstLineColumns` characters before its first line.
 */
export function mapBundleStackTraces(bundleFile: string, firstLineColumns: number): void {
  let map: SourceMap | null | undefined;
  const sourceMap = (): SourceMap | null => {
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${bundleFile}.map`, "utf8")) as SourceMapPayload);
      } catch {
        // No map (removed, unreadable): the bundle's own positions, as without source maps.
        map = null;
      }
    }
    return map;
  };
  const mapFrame = (frame: NodeJS.CallSite): string => {
    const text = frame.toString();
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    const found = frame.getFileName() === bundleFile && line !== null && column !== null ? sourceMap() : null;
    if (found === null || line === null || column === null) return text;
    const entry = found.findEntry(line - 1, column - 1 - (line === 1 ? firstLineColumns : 0));
    if (!("originalSource" in entry)) return text;
    const source = resolve(dirname(bundleFile), entry.originalSource);
    return text.replace(
      `${bundleFile}:${line}:${column}`,
      `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`,
    );
  };
  Error.prepareStackTrace = (error, frames) => {
    const head = error instanceof Error ? Error.prototype.toString.call(error) : String(error);
    return [head, ...frames.map((frame) => `    at ${mapFrame(frame)}`)].join("\n");
  };
}
