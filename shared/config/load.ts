import { lstatSync, readlinkSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { readUpTo, TooLargeError } from "../bounded-read.js";
import { escapedName } from "../byte-names.js";
import { BadInputError, type Issue } from "../errors.js";
import { writableByOthersProblem } from "../file-permissions.js";
import { fsErrorText } from "../fs-errors.js";
import { fileTypeProblems } from "../schema/file-types.js";
import { toIssues } from "../schema/issues.js";
import { type Problem, valueAt } from "../schema/problem.js";
import { validateAgainst } from "../schema/zod-problems.js";
import { binaryKind, notUtf8, notUtf8Message } from "../utf8-text.js";
import { rememberKeyPositions } from "./key-positions.js";
import { resolveConfigPaths } from "./resolve-paths.js";
import { AgentConfig, logLevels } from "./schema.js";
import { secretExposureWarnings } from "./secrets.js";
import { positionInToml, scanTomlKeys } from "./toml-positions.js";

export interface LoadedConfig {
  config: AgentConfig;
  warnings: Issue[];
}

export const SYSTEM_CONFIG_PATH = "/etc/ship/ship.toml";

const nouns = new Map<string, string>([
  [["git", "https", "http", "sftp", "local", "hub"].join(), "source type"],
  [logLevels.join(), "log level"],
]);

/**
 * Parses and validates ship.toml. Throws BadInputError listing every error with line:column and
 * key path (TOML syntax errors stop at the first, as the parser does); unknown keys come back as
 * warnings with a "did you mean" hint and are ignored.
 */
export function parseConfigText(text: string, file: string): LoadedConfig {
  let data: unknown;
  try {
    data = parse(text);
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const said = e.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "") ?? "";
    const named = said.startsWith("trying to redefine") ? redefinedText(text, e.line) : undefined;
    const message = named === undefined ? `TOML: ${said}` : `TOML: ${named} (${said})`;
    throw new BadInputError([{ file, line: e.line, column: e.column, path: "", message, severity: "error" }]);
  }
  const positions = rememberKeyPositions(file, text);
  // The tables as written: validation drops unknown ones, and a misspelt [trust] is told by its keys.
  const tables = { ...(data as Record<string, unknown>) };
  const { value, problems } = validateAgainst(AgentConfig, data, {
    enumNoun: (values) => nouns.get(values.join()),
    // A header's value is often a credential (Authorization): an error names the key, not the value.
    unquoted: (path) => path.includes("headers"),
    // The seed's [general.logging] follows [general]: a general key written below it is logging's.
    misplaced: (path, key) =>
      `${key} is a key of ${path.length > 1 ? `[${path.slice(0, -1).join(".")}]` : "the file's top level"}: in TOML every key below the [${path.join(".")}] header is that table's; move it above the header`,
  });
  const issues = toIssues(
    [...problems.map((p) => trustTypo(p, data, tables)), ...configChecks(data)],
    file,
    (p) => positionInToml(positions, p.path),
  );
  if (value === undefined || issues.some((i) => i.severity === "error")) throw new BadInputError(issues);
  return { config: value, warnings: issues };
}

/**
 * What smol-toml's "trying to redefine an already defined table or value" is about, in the file's
 * words. The example ship.toml's hub block, uncommented as its comment says, adds a second
 * `[sources.myapp]`: the operator was told the line only, not which table, nor where the first is.
 */
function redefinedText(text: string, line: number): string | undefined {
  const lines = text.split(/\r?\n/);
  const at = lines[line - 1]?.trim() ?? "";
  const header = /^(\[\[?)\s*([^\]]+?)\s*\]\]?/.exec(at);
  if (header !== null) {
    const name = header[2] ?? "";
    const same = (l: string) => /^\[\[?\s*([^\]]+?)\s*\]/.exec(l.trim())?.[1] === name;
    const first = lines.findIndex(same);
    const where =
      first >= 0 && first < line - 1
        ? ` (first at line ${first + 1})`
        : " (already by a dotted key or an inline table above)";
    return `${header[1] === "[[" ? `[[${name}]]` : `[${name}]`} is defined twice${where}: keep one, with all its keys`;
  }
  const key = /^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=/.exec(at)?.[1];
  if (key !== undefined) return `${key} is set twice in its table (or is already a table): keep one`;
  return undefined;
}

const CONFIG_ROLE = "sources and [trust] keys of their own, and so code that ship runs";

/**
 * Reads, parses and validates a config file, adding warnings when secrets in it (or the files it
 * points at) are readable by other users.
 */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let bytes: Buffer;
  let mode: number;
  try {
    bytes = await readUpTo(path, "a config file");
    mode = statSync(path).mode;
  } catch (e) {
    if (e instanceof TooLargeError) throw BadInputError.single(path, "", e.message);
    throw BadInputError.single(path, "", `cannot read the config: ${fsErrorText(e)}`);
  }
  // ship.toml decides what runs as root (sources, app_dir, [trust]): whoever else can write it can
  // drop the trust keys and point a source at their own release, as with a trusted key file.
  const unsafe = await writableByOthersProblem(path, CONFIG_ROLE);
  if (unsafe !== undefined)
    throw BadInputError.single(
      path,
      "",
      unsafe.startsWith(`${path} `) ? unsafe.slice(path.length + 1) : unsafe,
    );
  const text = configText(bytes, path);
  const loaded = parseConfigText(text, path);
  const config = resolveConfigPaths(loaded.config, dirname(resolve(path)));
  const exposure = await secretExposureWarnings(config, path, mode, scanTomlKeys(text));
  return { config, warnings: [...loaded.warnings, ...exposure] };
}

/**
 * ship.toml (and the hub's hub.toml) is UTF-8 text (TOML says so). Read as UTF-8 whatever it held, a Latin-1 `é` in an
 * `app_dir`, a path or a header's password became U+FFFD without a word: ship used another
 * directory, sent another password. A UTF-16 file (as some Windows editors save) read as "TOML:
 * illegal character in key". Both are refused, naming where.
 */
export function configText(bytes: Buffer, file: string): string {
  const binary = binaryKind(bytes);
  if (binary !== undefined)
    throw BadInputError.single(file, "", `is ${binary}, not text: a config file is UTF-8 TOML text`);
  const found = notUtf8(bytes);
  if (found === undefined) return bytes.toString("utf8");
  const at = found.utf16 ? { line: 1, column: 1 } : found;
  throw new BadInputError([
    { file, ...at, path: "", message: notUtf8Message(found, "a TOML file"), severity: "error" },
  ]);
}

/**
 * A misspelt key that leaves [trust] naming no key is an error: as the warning an unknown key is
 * elsewhere ("ignored"), the table meant to require signatures left every release, unsigned ones
 * too, installed unverified. That is an unknown key in [trust] (`key_file`, `Keys`) with no key
 * named beside it, or a misspelt table (`[Trust]`, `[trusted]`) holding `keys` or `key_files`,
 * with no [trust] naming one. Beside a key that is named it stays a warning: a misspelt
 * `allow_downgrade` only keeps downgrades refused. `data` has the unknown keys removed, `tables`
 * holds the document's tables as written.
 */
function trustTypo(problem: Problem, data: unknown, tables: Record<string, unknown>): Problem {
  if (problem.severity !== "warning" || problem.at !== "key" || !problem.message.startsWith("unknown key"))
    return problem;
  const named = ["keys", "key_files"].some((k) => {
    const value = valueAt(data, ["trust", k]);
    return Array.isArray(value) && value.length > 0;
  });
  if (named) return problem;
  const [table] = problem.path;
  const inTrust = table === "trust" && problem.path.length === 2;
  const trustLike =
    problem.path.length === 1 &&
    typeof table === "string" &&
    ["keys", "key_files"].some((k) => valueAt(tables, [table, k]) !== undefined);
  if (!inTrust && !trustLike) return problem;
  const why = inTrust ? "[trust] names no key without it" : "no [trust] names a key";
  return {
    ...problem,
    severity: "error",
    message: `${problem.message.replace(/; ignored$/, "")}, and ${why}: no release would be verified; correct the name, or remove ${inTrust ? "[trust]" : "it"} to install unsigned releases`,
  };
}

/**
 * What the schema cannot say: `allowed_file_types` entries that look like extensions without their
 * dot, an SFTP source given two passphrases (one would be silently ignored), and a git source
 * given a branch beside the tag pattern that overrides it, or include_prereleases without a tag.
 */
function configChecks(data: unknown): Problem[] {
  const sources = valueAt(data, ["sources"]);
  if (typeof sources !== "object" || sources === null) return emptyTrustProblems(data);
  return [...emptyTrustProblems(data), ...sourceChecks(data, sources)];
}

/**
 * `[trust]` asks for signed releases only when it lists a key; `key_files = []` (and `keys = []`)
 * listed none, so an operator who wrote the section to refuse unsigned releases got every unsigned
 * one installed without a word. A key list given empty, with no key in the other, is refused;
 * `[trust]` with only `allow_downgrade` asks for no signature and stays valid.
 */
function emptyTrustProblems(data: unknown): Problem[] {
  const lists = (["keys", "key_files"] as const).map((key) => ({
    key,
    value: valueAt(data, ["trust", key]),
  }));
  if (lists.some(({ value }) => Array.isArray(value) && value.length > 0)) return [];
  return lists
    .filter(({ value }) => Array.isArray(value) && value.length === 0)
    .map(({ key }) => ({
      path: ["trust", key],
      message:
        "is empty: no key could check a release's signature, so unsigned releases would be installed; list the release signing public key (ship release keygen writes one), or remove the key",
      severity: "error" as const,
      at: "key" as const,
    }));
}

function sourceChecks(data: unknown, sources: object): Problem[] {
  return Object.keys(sources).flatMap((name) => {
    const path = ["sources", name, "security", "allowed_file_types"];
    const problems = fileTypeProblems(valueAt(data, path), path);
    const both = ["passphrase_file", "passphrase_env"].every(
      (key) => valueAt(data, ["sources", name, key]) !== undefined,
    );
    if (both) {
      problems.push({
        path: ["sources", name, "passphrase_env"],
        message: "passphrase_file is also set: give the key's passphrase one way, not both",
        severity: "error",
        at: "key",
      });
    }
    const source = valueAt(data, ["sources", name]);
    const git = valueAt(source, ["type"]) === "git";
    const tag = valueAt(source, ["tag"]);
    if (git && typeof tag === "string" && valueAt(source, ["branch"]) !== undefined) {
      // The git source then fetches tags alone: `branch = "stable"` read as "tags on stable", and a
      // v3.0.0-rc1 tagged on a development branch was installed all the same.
      problems.push({
        path: ["sources", name, "branch"],
        message: `ignored: with tag = ${JSON.stringify(tag)} ship installs the newest tag matching it, on whatever branch it is; remove branch (or tag)`,
        severity: "warning",
        at: "key",
      });
    }
    if (git && tag === undefined && valueAt(source, ["include_prereleases"]) !== undefined) {
      // Branch mode installs the branch's head whatever its manifest says; the key would read as
      // keeping release candidates away from this host, which it does not.
      problems.push({
        path: ["sources", name, "include_prereleases"],
        message: 'ignored: it chooses among tags, and without tag = "v*" ship installs the head of branch',
        severity: "warning",
        at: "key",
      });
    }
    return problems;
  });
}

/**
 * `./ship.toml` when the working directory has one (development), else the system config. A
 * ./ship.toml that is a symlink leading nowhere (to a volume not mounted) is still the one meant:
 * passed over, the run read /etc/ship/ship.toml, another set of apps, or named that file as missing.
 */
export function defaultConfigPath(cwd: string): string {
  const local = join(cwd, "ship.toml");
  if (lstatSync(local, { throwIfNoEntry: false }) !== undefined) return local;
  // Node's text of a working directory whose path is not UTF-8 names no directory (U+FFFD in place
  // of its bytes): its ship.toml was passed over for /etc/ship/ship.toml, another host's apps.
  if (cwd === process.cwd() && lstatSync("ship.toml", { throwIfNoEntry: false }) !== undefined)
    throw BadInputError.single(
      "./ship.toml",
      "",
      `is in a working directory whose path is not UTF-8 (${workingDirectoryBytes(cwd)}), which ship cannot name: rename the directory, or give --config a UTF-8 path to the file`,
    );
  return SYSTEM_CONFIG_PATH;
}

/** The working directory's path as the kernel holds it, escaped; Node's text where /proc cannot say. */
function workingDirectoryBytes(cwd: string): string {
  try {
    return escapedName(readlinkSync("/proc/self/cwd", { encoding: "buffer" }));
  } catch {
    return cwd;
  }
}
