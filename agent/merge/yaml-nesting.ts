/** How deep a YAML copy nests, measured as every YAML text ship reads is (shared/yaml-depth.ts). */
import type { Document } from "yaml";
import { firstYamlPastDepth } from "../../shared/yaml-depth.js";
import { MAX_NESTING, tooDeep } from "./nesting.js";
import { type CopyRole, lineColumnAt } from "./parse-error.js";

/** Refuses a YAML copy whose lists and mappings nest deeper than the limit, at the first one past it. */
export function checkYamlNesting(doc: Document, text: string, fileName: string, role: CopyRole): void {
  const past = firstYamlPastDepth(doc, text, MAX_NESTING);
  if (past !== undefined) throw tooDeep(fileName, role, lineColumnAt(text, past));
}
