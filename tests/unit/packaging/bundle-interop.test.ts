/**
 * The CLI's ES module bundle must not hand a lazily imported library over as a default export only.
 * esbuild turns `import("pkg")` of a bundled CommonJS package into a chunk that ends in
 * `export default require_pkg()`: the caller's `const { request } = await import(…)` then got
 * undefined, and every webhook `ship agent` sent failed. Lazy loads of bundled packages go through
 * a module of ours that imports them statically (agent/notify/undici-request.ts). The hub's CLI
 * is bundled the same way (scripts/build-hub-cli.mjs) and held to the same rule.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const dist = join(import.meta.dirname, "../../../dist");

describe.each([
  ["ship", join(dist, "agent/cli/bundle")],
  ["ship-hub", join(dist, "hub/cli/bundle")],
])("%s's ES module bundle", (_cli, bundleDir) => {
  it("has no chunk that is a CommonJS package behind a default export only", async () => {
    const chunks = (await readdir(bundleDir)).filter((f) => f.endsWith(".js"));
    expect(chunks.length).toBeGreaterThan(5);
    const defaultOnly: string[] = [];
    for (const chunk of chunks) {
      const text = await readFile(join(bundleDir, chunk), "utf8");
      if (/export\s+default\s+require_\w+\(\);?\s*(\/\/# sourceMappingURL=\S+\s*)?$/.test(text))
        defaultOnly.push(chunk);
    }
    expect(defaultOnly).toEqual([]);
  });
});
