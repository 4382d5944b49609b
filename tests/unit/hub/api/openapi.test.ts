/**
 * The OpenAPI list of routes is also what tells a 415 (a body that is not JSON, sent to a route)
 * from a 404 (no such route): a route added to a router without its line there would take a
 * form body as "body: is required" again. Every route the routers declare must be listed.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { hasOperation } from "../../../../hub/api/openapi.js";

it("lists every route the API's routers declare", async () => {
  const dir = join(import.meta.dirname, "../../../../hub/api");
  const declared: string[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith(".ts"))) {
    const text = await readFile(join(dir, name), "utf8");
    for (const m of text.matchAll(/router\.(get|post|put|patch|delete)\(\s*"([^"]+)"/g))
      declared.push(`${(m[1] ?? "").toUpperCase()} ${(m[2] ?? "").replace(/:[a-z0-9]+/gi, "x")}`);
  }
  expect(declared.length).toBeGreaterThan(10);
  const missing = declared.filter((route) => {
    const [method = "", path = ""] = route.split(" ");
    return !hasOperation(method, path);
  });
  expect(missing).toEqual([]);
  expect(hasOperation("PUT", "/nothing")).toBe(false);
  expect(hasOperation("PUT", "/releases")).toBe(false);
});
