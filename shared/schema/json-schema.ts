import * as z from "zod";
import { AgentConfig } from "../config/schema.js";
import { Manifest } from "../manifest/schema.js";

/**
 * JSON Schemas for editors and CI linters, generated from the zod schemas so they cannot drift.
 * They describe what an author writes (zod's input side): keys with defaults are optional.
 */
export function jsonSchemaOf(schema: z.ZodType, title: string): Record<string, unknown> {
  return {
    title,
    ...z.toJSONSchema(schema, { io: "input", target: "draft-2020-12", override: refuseRegexFlags }),
  };
}

/**
 * A JSON Schema `pattern` has no flags, and zod writes a regex's source without them: a `/…/i`
 * pattern became case-sensitive for editors and linters (host_fingerprint = "sha256:…", which ship
 * takes, was flagged). Such a regex is refused here, so the test that keeps the committed files
 * current fails until the pattern spells both cases (`[Ss][Hh][Aa]256`). `u` is what JSON Schema
 * assumes anyway.
 */
function refuseRegexFlags(ctx: { zodSchema: z.core.$ZodTypes; path: (string | number)[] }): void {
  for (const check of ctx.zodSchema._zod.def.checks ?? []) {
    const def: object = check._zod.def;
    const pattern = "pattern" in def ? def.pattern : undefined;
    const flags = pattern instanceof RegExp ? pattern.flags.replace("u", "") : "";
    if (flags !== "")
      throw new Error(
        `${ctx.path.join(".")}: pattern ${String(pattern)} has the flag "${flags}", which JSON Schema drops: spell it into the pattern instead`,
      );
  }
}

export function manifestJsonSchema(): Record<string, unknown> {
  return jsonSchemaOf(Manifest, "ship update manifest (update-manifest.yaml)");
}

export function configJsonSchema(): Record<string, unknown> {
  return jsonSchemaOf(AgentConfig, "ship agent config (ship.toml)");
}

/** The committed file's text: stable key order as generated, two-space indent, final newline. */
export function renderJsonSchema(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
