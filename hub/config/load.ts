import { readFile } from "node:fs/promises";
import { parse, TomlError } from "smol-toml";
import { BadInputError } from "../../shared/errors.js";
import { fsErrorText } from "../../shared/fs-errors.js";
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
  const result = HubConfig.safeParse(data);
  if (result.success) return result.data;
  throw new BadInputError(
    result.error.issues.map((i) => ({
      file,
      path: i.path.join("."),
      message: i.message,
      severity: "error" as const,
    })),
  );
}
