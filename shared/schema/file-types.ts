/**
 * `allowed_file_types` entries, in ship.toml's `[sources.NAME.security]` and a manifest's
 * `security`: an extension with its dot (".py") or an exact file name ("Dockerfile", ".env"),
 * compared without case. The seed writes extensions with their dot; an operator who writes "py"
 * means the extension, and read as a file name it refused every release. So an entry without a
 * dot also counts as that extension, and a short lowercase one (what an extension looks like)
 * gets a warning saying how it is read. An entry with more than one dot (".tar.gz", ".min.js") is a
 * compound extension: it matches a name that ends with it.
 */
import type { KeyPath } from "./key-path.js";
import type { Problem } from "./problem.js";

/** Whether `fileName` (a base name) is allowed by `entries`. */
export function fileTypeAllowed(fileName: string, entries: readonly string[]): boolean {
  const name = fileName.toLowerCase();
  const dot = name.lastIndexOf(".");
  // As path.extname: a leading dot (".env") is a name, not an extension.
  const extension = dot > 0 ? name.slice(dot) : "";
  return entries.some((entry) => {
    const wanted = entry.toLowerCase();
    if (wanted === name || wanted === extension) return true;
    if (wanted.startsWith(".") && wanted.length < name.length && name.endsWith(wanted)) return true;
    return !wanted.includes(".") && extension !== "" && `.${wanted}` === extension;
  });
}

/**
 * An error for an empty list (it allows no file: taken, it refused every release at its first
 * file, "not in allowed_file_types ()"), and a warning for each entry that looks like an extension
 * written without its dot ("py").
 */
export function fileTypeProblems(entries: unknown, path: KeyPath): Problem[] {
  if (!Array.isArray(entries)) return [];
  if (entries.length === 0) {
    return [
      {
        path,
        message:
          "is empty: it allows no file, so every release would be refused; list the types to allow, or leave the key out to allow every type",
        severity: "error",
        at: "key",
      },
    ];
  }
  const problems: Problem[] = [];
  entries.forEach((entry, i) => {
    if (typeof entry !== "string" || !/^[a-z0-9]{1,5}$/.test(entry)) return;
    problems.push({
      path: [...path, i],
      message: `"${entry}" is read as the extension ".${entry}" (and a file named ${entry}); write ".${entry}" to say so`,
      severity: "warning",
      at: "value",
    });
  });
  return problems;
}
