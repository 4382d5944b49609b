/** Writes and reads the same logical document in each mergeable format, for table-driven tests. */
import { parse as parseTomlText, stringify as stringifyToml } from "smol-toml";
import { parse as parseYamlText, stringify as stringifyYaml } from "yaml";
import type { MergeFormat } from "../../../agent/merge/index.js";

export const formats: MergeFormat[] = ["toml", "json", "yaml"];

export function write(format: MergeFormat, value: Record<string, unknown>): string {
  switch (format) {
    case "toml":
      return stringifyToml(value);
    case "json":
      return `${JSON.stringify(value, null, 2)}\n`;
    case "yaml":
      return stringifyYaml(value);
  }
}

export function read(format: MergeFormat, text: string): unknown {
  switch (format) {
    case "toml":
      return parseTomlText(text);
    case "json":
      return JSON.parse(text);
    case "yaml":
      return parseYamlText(text);
  }
}
