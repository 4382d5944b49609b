/**
 * Why a path or glob meant relative to the app directory names nothing in it, or undefined when it
 * is fine. Kept free of minimatch so that ship.toml's schema (loaded by every command, also the
 * restore bundle that leaves minimatch out) can check `privileged_files` with it.
 */
export function relativePatternProblem(pattern: string): string | undefined {
  if (pattern.startsWith("/")) return "patterns are relative to the app directory; remove the leading /";
  if (pattern.split("/").some((segment) => segment === ".."))
    return 'patterns must not contain ".." segments';
  // Paths are matched as `config.yaml`, never `./config.yaml`: such a pattern matched no file, so a
  // merge rule `./config.yaml: merge_yaml` left the operator's config to be replaced whole.
  if (pattern.split("/").some((segment) => segment === "."))
    return `patterns match paths without "." segments; write ${JSON.stringify(
      pattern
        .split("/")
        .filter((s) => s !== ".")
        .join("/"),
    )}`;
  if (pattern.endsWith("/"))
    return `ends with "/" and matches no file; use "${pattern}**" for the files under it`;
  return undefined;
}
