import { homedir } from "node:os";

/** `~/x` → `<home>/x`, as ssh and the seed's config examples write key and known_hosts paths. */
export function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? `${homedir()}${path.slice(1)}` : path;
}
