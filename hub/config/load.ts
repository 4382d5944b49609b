import { stat } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { readUpTo, TooLargeError } from "../../shared/bounded-read.js";
import { rememberKeyPositions } from "../../shared/config/key-positions.js";
import { configText } from "../../shared/config/load.js";
import { positionInToml } from "../../shared/config/toml-positions.js";
import { BadInputError } from "../../shared/errors.js";
import { modeText, writableByOthersProblem } from "../../shared/file-permissions.js";
import { fsErrorText } from "../../shared/fs-errors.js";
import { toIssues } from "../../shared/schema/issues.js";
import { validateAgainst } from "../../shared/schema/zod-problems.js";
import { parseDatabaseUrl } from "../store/postgres-url.js";
import { HubConfig } from "./schema.js";

/**
 * Reads hub.toml (or nothing: all defaults); errors name the file and key. `namedBy` (a variable,
 * which the operator did not type) is said when the file cannot be read, so they know what to fix.
 */
export async function loadHubConfig(file: string | undefined, namedBy?: string): Promise<HubConfig> {
  if (file === undefined) return HubConfig.parse({});
  // hub.toml names the JWT secret and the database: whoever else can write it can point the hub at
  // a secret of their own and mint tokens of any role.
  const unsafe = await writableByOthersProblem(file, "a JWT secret of their own, and so tokens of any role");
  if (unsafe !== undefined)
    throw BadInputError.single(
      file,
      "",
      unsafe.startsWith(`${file} `) ? unsafe.slice(file.length + 1) : unsafe,
    );
  let data: unknown;
  let text: string;
  try {
    // Read as UTF-8 whatever it held, a Latin-1 `é` in `data_dir` made the hub a second, empty
    // data directory named with U+FFFD; a UTF-16 file said "illegal character in key".
    // Bounded: `--config /dev/zero` (or a log file named by mistake) read until Node gave up.
    text = configText(await readUpTo(file, "a config file"), file);
    data = parse(text);
  } catch (error) {
    if (error instanceof BadInputError) throw error;
    if (error instanceof TooLargeError) throw BadInputError.single(file, "", error.message);
    if (error instanceof TomlError)
      throw new BadInputError([
        {
          file,
          line: error.line,
          column: error.column,
          path: "",
          message: error.message.split("\n")[0] ?? "",
          severity: "error",
        },
      ]);
    // Relative to the working directory, which under systemd is `/`: the path read is said too.
    const where = isAbsolute(file) ? "" : ` (${resolve(file)})`;
    const by = namedBy === undefined ? "" : `; ${namedBy} names it`;
    throw BadInputError.single(file, "", `cannot read${where}: ${fsErrorText(error)}${by}`);
  }
  // The agent's wording: "must be a number (got string …)", unknown keys with a "did you mean".
  // Unlike ship.toml, an unknown key in hub.toml is an error: nothing in it is safe to ignore.
  // Kept for the checks made after this load too (a data_dir that is a file, a missing
  // jwt_secret_file): the CLI gives their line:column from it.
  const positions = rememberKeyPositions(file, text);
  const { value, problems } = validateAgainst(HubConfig, data);
  const issues = toIssues(
    problems.map((p) => ({ ...p, message: p.message.replace(/; ignored$/, ""), severity: "error" as const })),
    file,
    (p) => positionInToml(positions, p.path),
  );
  if (value !== undefined && issues.length === 0) return withPathsFromConfigDir(value, data, file);
  throw new BadInputError(issues);
}

/**
 * A relative `data_dir`, `db` or `jwt_secret_file` is relative to hub.toml's own directory, as in
 * ship.toml: resolved against the working directory, `ship-hub serve` under systemd (started in /)
 * and `ship-hub token create --config /etc/ship/hub.toml` run from an operator's shell used two data
 * dirs with two secrets, and the serving hub refused every token the operator made. The default
 * data dir, not written in hub.toml, stays ./ship-hub-data as `--help` says.
 */
function withPathsFromConfigDir(config: HubConfig, data: unknown, file: string): HubConfig {
  const baseDir = dirname(resolve(file));
  const at = <T extends string | undefined>(path: T): T =>
    (path === undefined || isAbsolute(path) ? path : resolve(baseDir, path)) as T;
  const written = typeof data === "object" && data !== null && "data_dir" in data;
  return {
    ...config,
    ...(written ? { data_dir: at(config.data_dir) } : {}),
    db: at(config.db),
    jwt_secret_file: at(config.jwt_secret_file),
  };
}

/**
 * A warning when hub.toml holds a secret (a `database_url` with a password) and other users can
 * read it, naming the file and the key; undefined otherwise. A warning, not a refusal, as for
 * ship.toml: config management often installs it 644, and refusing would stop the hub at upgrade.
 */
export async function hubConfigExposure(
  file: string | undefined,
  config: HubConfig,
): Promise<string | undefined> {
  if (file === undefined || config.database_url === undefined) return undefined;
  if ((parseDatabaseUrl(config.database_url)?.password ?? "") === "") return undefined;
  const mode = await stat(file).then(
    (s) => s.mode,
    () => undefined,
  );
  if (mode === undefined || (mode & 0o044) === 0) return undefined;
  return `${file} database_url: holds a password but ${file} is readable by other users (mode ${modeText(mode)}); chmod 600 it`;
}
