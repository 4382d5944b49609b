/** A local path's link reader for broken-link.ts. */
import { lstat, readlink } from "node:fs/promises";
import type { LinkReader } from "./broken-link.js";

export const localLinkReader: LinkReader = {
  readlink: (path) => readlink(path),
  kind: async (path) => {
    const entry = await lstat(path).catch(() => undefined);
    return entry === undefined ? "absent" : entry.isSymbolicLink() ? "link" : "other";
  },
};
