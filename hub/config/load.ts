import { readFile } from "node:fs/promises";
import { parse, TomlError } from "smol-toml";
import { BadInputError, type Issue } from "../../shared/errors.js";
import { fsErrorText } from "../../shared/fs-errors.js";
import { formatKeyPath } from "../../shared/schema/key-path.js";
import { validateAgainst } from "../../shared/schema/zod-problems.js";
import { HubConfig } from "./schema.js";

/** Reads hub.toml (or nothing: all defaults); errors name the file and key. */
export async function loadHubConfig(file: string | undefined): Promise<HubConfig> {
  if (file === undefined) return HubConfig.parse({});
  let data: unknown;
  try {
    data = parse(await readFile(file, "utf8"));
  } catch (error) {
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
    throw BadInputError.single(file, "", `cannot read: ${fsErrorText(error)}`);
  }
  // The agent's wording: "must be a number (got string …)", unknown keys with a "did you mean".
  // Unlike ship.toml, an unknown key in hub.toml is an error: nothing in it is safe to ignore.
  const { value, problems } = validateAgainst(HubConfig, data);
  const issues = problems.map(
    (p): Issue => ({
      file,
      path: formatKeyPath(p.path),
      message: p.message.replace(/; ignored$/, ""),
      severity: "error",
    }),
  );
  if (value !== undefined && issues.length === 0) return value;
  throw new BadInputError(issues);
}
