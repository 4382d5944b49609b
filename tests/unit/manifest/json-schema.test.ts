import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  configJsonSchema,
  jsonSchemaOf,
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

/** Every `pattern` of a generated schema, with the key path that holds it. */
function patternsOf(node: unknown, path = ""): [string, string][] {
  if (typeof node !== "object" || node === null) return [];
  return Object.entries(node).flatMap(([key, value]): [string, string][] =>
    key === "pattern" && typeof value === "string" ? [[path, value]] : patternsOf(value, `${path}/${key}`),
  );
}

describe("generated patterns", () => {
  it("keep the case rules of the zod schema: a regex flag (i) does not reach JSON Schema", () => {
    // JSON Schema's pattern carries no flags: a /…/i regex became case-sensitive for editors and
    // linters, which flagged host_fingerprint = "sha256:…" that ship itself accepts.
    expect(() => configJsonSchema()).not.toThrow();
    const fingerprint = patternsOf(configJsonSchema()).find(([path]) => path.includes("host_fingerprint"));
    expect(fingerprint).toBeDefined();
    const pattern = new RegExp((fingerprint as [string, string])[1], "u");
    const key = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0";
    for (const given of [
      `SHA256:${key}`,
      `sha256:${key}`,
      `Sha256:${key}=`,
      `256 SHA256:${key} root@host (ED25519)`,
    ])
      expect(pattern.test(given), given).toBe(true);
  });

  it("refuse to generate from a regex with a flag JSON Schema cannot carry", () => {
    expect(() => z.toJSONSchema(z.string().regex(/^a$/i))).not.toThrow(); // zod alone drops it
    expect(() => jsonSchemaOf(z.object({ k: z.string().regex(/^a$/i) }), "t")).toThrow(/flag "i".*spell/);
  });
});
