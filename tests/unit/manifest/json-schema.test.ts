import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  configJsonSchema,
  manifestJsonSchema,
  renderJsonSchema,
} from "../../../shared/schema/json-schema.js";

const root = join(import.meta.dirname, "../../..");

/**
 * The committed JSON Schemas (for editors and CI linters) must match the zod schemas.
 * Regenerate after a schema change (biome then formats the files; the comparison is by value):
 *   UPDATE_SCHEMAS=1 npx vitest run tests/unit/manifest/json-schema.test.ts && npx biome format --write shared/
 */
describe.each([
  ["shared/manifest/manifest.schema.json", manifestJsonSchema],
  ["shared/config/config.schema.json", configJsonSchema],
])("%s", (relPath, generate) => {
  it("is current", async () => {
    const file = join(root, relPath);
    if (process.env.UPDATE_SCHEMAS === "1") await writeFile(file, renderJsonSchema(generate()));
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual(generate());
  });
});

describe("generated schemas", () => {
  it("describe what authors write: enums, required keys, no extra keys", () => {
    const schema = manifestJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: { files: { additionalProperties: { properties: { action: { enum: string[] } } } } };
    };
    expect(schema.required).toEqual(["version"]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.files.additionalProperties.properties.action.enum).toContain("backup_replace");
  });
});
