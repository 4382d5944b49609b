/**
 * Where a release archive's update-manifest.yaml is, by the one rule the agents' extraction and
 * `ship release sign`/`publish` both follow: they disagreed (sign read `a/update-manifest.yaml`
 * beside a `b/`, which agents never strip; sign refused a manifest packed twice, agents installed
 * the later copy), so a release was signed that no agent installs as signed.
 *
 * The rule, over entry names as extraction normalizes them (entryParts: `./`, `//` and trailing
 * slashes do not count): the manifest at the root; else the one under the single top-level name,
 * when that name is a directory. A manifest packed twice (by any spelling of its name), or one
 * under a top directory that will not be stripped, is refused: either copy could be the one signed.
 */
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { entryParts, joinParts } from "./entry-path.js";

/** Where the manifest is: at the root (`top` undefined) or under `top`; `entry` is its number. */
export type ManifestVerdict =
  | { ok: true; top: string | undefined; entry: number | undefined }
  | { ok: false; reason: string };

interface Seen {
  number: number;
  type: string;
  linkpath: string;
}

const ROOT = "";

export class ManifestPlace {
  private count = 0;
  /** Every top-level name, and the type of the last entry naming it alone (a top-level dir, file, link). */
  private readonly tops = new Map<string, string | undefined>();
  /** Entries named update-manifest.yaml at the root ("") or under a top-level name. */
  private readonly manifests = new Map<string, Seen[]>();

  /** Notes entry `name` (its raw tar name) of tar type `type`; returns its number in the archive. */
  see(name: string, type: string, linkpath = ""): number {
    const named = entryParts(name);
    return this.seeParts(named.ok ? named.parts : [], type, linkpath);
  }

  /**
   * `see` for an entry whose name the caller has already split by entryParts (the extraction's
   * writer does, for every entry): splitting 20,000 names a second time was ~60 ms of CPU of an
   * archive update on a loaded 2-core machine, as much again as the writer's own split.
   */
  seeParts(parts: readonly string[], type: string, linkpath = ""): number {
    const number = this.count++;
    const [first] = parts;
    if (first === undefined) return number;
    if (parts.length === 1) this.tops.set(first, type);
    else if (!this.tops.has(first)) this.tops.set(first, undefined);
    const under = parts.length === 1 ? ROOT : parts.length === 2 ? first : undefined;
    if (under !== undefined && parts[parts.length - 1] === MANIFEST_FILENAME) {
      const list = this.manifests.get(under) ?? [];
      list.push({ number, type, linkpath });
      this.manifests.set(under, list);
    }
    return number;
  }

  /** The verdict once every entry was seen. */
  verdict(): ManifestVerdict {
    const atRoot = this.manifests.get(ROOT);
    if (atRoot !== undefined) return single(MANIFEST_FILENAME, atRoot, undefined);
    const nested = [...this.manifests.keys()];
    const [top] = nested;
    if (top === undefined) return { ok: true, top: undefined, entry: undefined };
    const path = `${top}/${MANIFEST_FILENAME}`;
    if (this.tops.size > 1) {
      const names = [...this.tops.keys()].sort();
      const shown = names.slice(0, 4).join(", ") + (names.length > 4 ? ", …" : "");
      return {
        ok: false,
        reason: `holds ${path} but ${names.length} top-level names (${shown}): agents read the manifest at the root, or under the single top-level directory; pack one directory, or the manifest at the root`,
      };
    }
    const kind = this.tops.get(top);
    if (kind !== undefined && kind !== "Directory")
      return {
        ok: false,
        reason: `holds ${path} but ${top} is packed as ${kind === "SymbolicLink" ? "a symbolic link" : `a ${kind} entry`}, not a directory: agents strip only a top-level directory`,
      };
    return single(path, this.manifests.get(top) ?? [], top);
  }
}

/** The one entry at `path`, refused when it is packed more than once. */
function single(path: string, seen: readonly Seen[], top: string | undefined): ManifestVerdict {
  // A hard link to its own name leaves the file as it is (GNU tar packs a file named twice so).
  const copies = seen.filter((s, i) => !(i > 0 && s.type === "Link" && sameName(s.linkpath, path)));
  const [one] = copies;
  if (copies.length > 1)
    return {
      ok: false,
      reason: `packs ${path} ${copies.length} times: agents would install the last copy, so which one is the release is unclear; pack it once`,
    };
  return { ok: true, top, entry: one?.number };
}

function sameName(a: string, b: string): boolean {
  const named = entryParts(a);
  return named.ok && joinParts(named.parts) === b;
}
