/**
 * An array-of-tables element with a sub-table is edited as a table document of its own, its
 * `[[o]]` header read as `[o]`: a header whose comment holds `]]` (`[[o]] # see [[p]]`) must still be
 * read up to its own `]]`, else the element came back as the release's text, the comments in it gone.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";

describe("an element header whose comment holds ]]", () => {
  it("is edited in place, its comments kept", () => {
    const result = mergeConfigFile({
      format: "toml",
      fileName: "config.toml",
      base: '[[o]]\nname = "a"\n[o.t]\ne = 1\n',
      current: '[[o]] # see [[p]]\nname = "a" # A\n[o.t]\ne = 1\n',
      incoming: '[[o]]\nname = "a"\nx = 1\n[o.t]\ne = 2\n',
      strategy: "preserve_user",
    });
    expect(result.text).toBe('[[o]] # see [[p]]\nname = "a" # A\nx = 1\n[o.t]\ne = 2\n');
    expect(result.warnings).toEqual([]);
  });
});
