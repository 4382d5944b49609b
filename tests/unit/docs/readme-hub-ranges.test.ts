/**
 * README's table of hub.toml's numbers is the operator's only statement of each key's range: the
 * paragraph under it said "timeouts ≤ 30 days" while `cluster_hub_timeout_seconds` stops at a day,
 * and no key's lower bound was written anywhere. The table is read against the schema that checks
 * hub.toml, so a bound changed in one place and not the other fails here.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { HubConfig } from "../../../hub/config/schema.js";

const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");

interface Bounds {
  default: unknown;
  type: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
}

/** The schema's numeric keys with their bounds, as the committed JSON Schema would state them. */
function schemaNumbers(): Map<string, Bounds> {
  const schema = z.toJSONSchema(HubConfig, { io: "input" }) as { properties: Record<string, Bounds> };
  return new Map(
    Object.entries(schema.properties).filter(([, p]) => p.type === "number" || p.type === "integer"),
  );
}

/** The table's rows: key, default, range text. */
function tableRows(): Map<string, { default: string; range: string }> {
  const start = readme.indexOf("| hub.toml key | Default | Range |");
  expect(start, "README has the table of hub.toml's numbers").toBeGreaterThan(-1);
  const rows = new Map<string, { default: string; range: string }>();
  for (const line of readme.slice(start).split("\n").slice(2)) {
    const match = /^\| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \|$/.exec(line);
    if (match === null) break;
    rows.set(match[1] as string, {
      default: (match[2] as string).trim(),
      range: (match[3] as string).trim(),
    });
  }
  return rows;
}

/** Equal to within 1 %, as the table writes a millisecond in minutes. */
const close = (written: number, bound: number) => Math.abs(written - bound) <= Math.abs(bound) * 1e-2;

describe("README's hub.toml ranges", () => {
  it("name every numeric key once, with the schema's default, bounds and whole-number rule", () => {
    const numbers = schemaNumbers();
    const rows = tableRows();
    expect([...rows.keys()].sort()).toEqual([...numbers.keys()].sort());
    for (const [key, bounds] of numbers) {
      const row = rows.get(key) as { default: string; range: string };
      const range = /^(above 0|[\d.]+)(?: \([^)]*\))? to ([\d.]+)(, whole)?(?:,|$)/.exec(row.range);
      expect({ key, range: row.range, parsed: range !== null }).toEqual({
        key,
        range: row.range,
        parsed: true,
      });
      const [, lower, upper, whole] = range as RegExpExecArray;
      expect({ key, default: Number(row.default) }).toEqual({ key, default: bounds.default });
      if (lower === "above 0")
        expect({ key, exclusiveMinimum: bounds.exclusiveMinimum }).toEqual({ key, exclusiveMinimum: 0 });
      else
        expect({
          key,
          lower,
          minimum: bounds.minimum,
          close: close(Number(lower), bounds.minimum ?? Number.NaN),
        }).toMatchObject({ close: true });
      expect({ key, maximum: Number(upper) }).toEqual({ key, maximum: bounds.maximum });
      expect({ key, whole: whole !== undefined }).toEqual({ key, whole: bounds.type === "integer" });
    }
  });
});
