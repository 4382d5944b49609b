/**
 * The walks ask lstat-lite's predicates what each entry is, two or three times per entry (~100,000
 * calls an update of the bench's app). The CLI runs them from CommonJS bundles, where
 * `constants.S_IFMT` is a property read from Node's `fs` module object, which V8 keeps in
 * dictionary mode: a hash lookup per read. The built bundles the bin runs are the witness: each
 * predicate's body reads only bits taken once, never the `fs` module.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const bundleDir = new URL("../../../dist/agent/cli/bundle/", import.meta.url).pathname;

/** The code-cached CommonJS bundles (the update run's and the restore commands'). */
function cjsBundles(): string[] {
  return readdirSync(bundleDir).filter((name) => /^(quick|restore)-[A-Z0-9]+\.cjs$/.test(name));
}

/** The body of `function name(...){...}` in a minified bundle (the predicates hold no braces). */
function bodyOf(text: string, name: string): string | undefined {
  return new RegExp(`function ${name}\\(\\w+\\)\\{([^}]*)\\}`).exec(text)?.[1];
}

describe("the walks' file-type predicates in the CLI's bundles", () => {
  it("read the mode bits taken once, not Node's fs module, on every call", () => {
    const bundles = cjsBundles();
    expect(bundles.map((b) => b.split("-")[0]).sort()).toEqual(["quick", "restore"]);
    let checked = 0;
    for (const bundle of bundles) {
      const text = readFileSync(bundleDir + bundle, "utf8");
      for (const name of ["isDirectoryMode", "isFileMode", "isSymlinkMode"]) {
        const body = bodyOf(text, name);
        // The update run's bundle holds both walks; a bundle without a walk may leave them out.
        if (body === undefined && !bundle.startsWith("quick-")) continue;
        expect(body, `${bundle}: ${name}`).toBeDefined();
        expect(body, `${bundle}: ${name}`).not.toMatch(/import_node_fs|constants\./);
        expect(body, `${bundle}: ${name}`).toMatch(/S_IFMT/);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });
});
