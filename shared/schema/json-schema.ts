import * as z from "zod";
import { AgentConfig } from "../config/schema.js";
import { Manifest } from "../manifest/schema.js";

/**
 * JSON Schemas for editors and CI linters, generated from the zod schemas so they cannot drift.
 * They describe what an author writes (zod's input side): keys with defaults are optional.
 */
function toJsonSchema(schema: z.ZodType, title: string): Record<string, unknown> {
  return { title, ...z.toJSONSchema(schema, { io: "input", target: "draft-2020-12" }) };
}

export function manifestJsonSchema(): Record<string, unknown> {
  return toJsonSchema(Manifest, "ship update manifest (update-manifest.yaml)");
}

export function configJsonSchema(): Record<string, unknown> {
  return toJsonSchema(AgentConfig, "ship agent config (ship.toml)");
}

/** The committed file's text: stable key order as generated, two-space indent, final newline. */
export function renderJsonSchema(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
