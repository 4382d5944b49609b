/**
 * Whether `git archive` of a commit could write something other than its blobs as they are. The
 * staged path (git-tree.ts) writes blobs straight from `git cat-file` and takes unchanged files'
 * hashes from the install index, which is right only when nothing transforms the tree on export.
 * git archive applies gitattributes(5) — export-ignore (leave a path out), export-subst (expand
 * `$Format:…$` with the commit: the output changes although the blob did not), text/eol/crlf, ident,
 * filter, working-tree-encoding — and core.autocrlf (CRLF for every text file, attributes or not).
 * Attributes come from the archived tree's `.gitattributes` files, `$GIT_DIR/info/attributes`,
 * core.attributesFile (default `$XDG_CONFIG_HOME/git/attributes`, else `~/.config/git/attributes`)
 * and the system file (`/etc/gitattributes` for Debian's git; skipped when GIT_ATTR_NOSYSTEM is set).
 *
 * Any of these present means the staged path is not used and the release is exported whole with
 * `git archive`, as on a first install. Deciding per attribute would mean re-implementing git's
 * attribute matching; this keeps git the only judge, at the cost of the fast path for such repos.
 */
import { isAbsolute, join, resolve } from "node:path";
import { pathExists } from "../tree/fs-ops.js";
import type { RunGit } from "./git-run.js";
import { expandHome } from "./home-path.js";

/** The system attributes file of Debian's git (built with prefix /usr, so sysconfdir /etc). */
export const SYSTEM_ATTRIBUTES_FILE = "/etc/gitattributes";

/** True when the path is a `.gitattributes` file at any depth of a tree. */
export function isAttributesFile(path: string): boolean {
  return path === ".gitattributes" || path.endsWith("/.gitattributes");
}

/** The two config keys that decide whether an export transforms files outside the trees. */
export interface AttributesConfig {
  autocrlf?: string;
  attributesFile?: string;
}

/**
 * core.autocrlf and core.attributesFile in one `git config` process (the last value of each wins,
 * as for `git config --get`). A key set without a value (`autocrlf` alone) is boolean true.
 */
export async function attributesConfig(git: RunGit): Promise<AttributesConfig> {
  let raw: string;
  try {
    raw = await git(["config", "-z", "--get-regexp", "^core\\.(autocrlf|attributesfile)$"]);
  } catch {
    // Exit 1: neither is set.
    return {};
  }
  const config: AttributesConfig = {};
  for (const record of raw.split("\0")) {
    if (record === "") continue;
    const nl = record.indexOf("\n");
    const key = nl < 0 ? record : record.slice(0, nl);
    const value = nl < 0 ? "true" : record.slice(nl + 1).trim();
    if (value === "") continue;
    if (key === "core.autocrlf") config.autocrlf = value;
    else if (key === "core.attributesfile") config.attributesFile = value;
  }
  return config;
}

/** An attributes file that cannot even be stat'ed counts as there: the full export is never wrong. */
const present = (path: string) => pathExists(path).catch(() => true);

/**
 * Why an archive of this clone's commits may differ from its blobs, outside the trees themselves
 * (undefined: nothing outside the trees transforms them). `cwd` is the clone; `env` its git env;
 * `infoPath` what `git rev-parse --git-path info/attributes` said there.
 */
export async function attributesOutsideTree(
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
  infoPath: string,
  { autocrlf, attributesFile }: AttributesConfig,
): Promise<string | undefined> {
  if (autocrlf !== undefined && autocrlf.toLowerCase() !== "false" && autocrlf.toLowerCase() !== "input") {
    return `core.autocrlf = ${autocrlf}`;
  }
  const info = isAbsolute(infoPath) ? infoPath : resolve(cwd, infoPath);
  if (await present(info)) return info;
  const home = env.HOME ?? process.env.HOME;
  const personal =
    attributesFile !== undefined
      ? expandHome(attributesFile)
      : env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ""
        ? join(env.XDG_CONFIG_HOME, "git/attributes")
        : home !== undefined
          ? join(home, ".config/git/attributes")
          : undefined;
  if (personal !== undefined && (await present(personal))) return personal;
  if (env.GIT_ATTR_NOSYSTEM === undefined && (await present(SYSTEM_ATTRIBUTES_FILE)))
    return SYSTEM_ATTRIBUTES_FILE;
  return undefined;
}
