/**
 * A `merge_strategies` section or `preserve_keys` entry that names no key of the file did nothing,
 * silently: under `replace` the release overwrote what the operator meant to protect, reported as
 * `updated` like any other change. Now a warning names the entry, with the closest key as a hint.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { formats, read, write } from "./formats.js";

const shipped = { database: { host: "localhost", pool: 5 }, api: { api_key: "CHANGE_ME", timeout: 10 } };
const mine = { database: { host: "db.internal", pool: 5 }, api: { api_key: "s3cret", timeout: 10 } };
const next = { database: { host: "localhost", pool: 10 }, api: { api_key: "CHANGE_ME", timeout: 30 } };

describe.each(formats)("merge_strategies entries that name nothing (%s)", (format) => {
  const merge = (sections: Parameters<typeof mergeConfigFile>[0]["sections"], base?: unknown) =>
    mergeConfigFile({
      format,
      fileName: `config.${format}`,
      current: write(format, mine),
      incoming: write(format, next),
      ...(base === undefined ? {} : { base: write(format, shipped) }),
      strategy: "replace",
      sections,
    });

  it("a misspelt section is named, with the key it was likely meant for", () => {
    const result = merge({ databse: "preserve_user" }, shipped);
    // What the entry failed to protect still goes (the manifest decides), but not silently.
    expect(read(format, result.text)).toEqual(next);
    expect(result.warnings).toEqual([
      `merge_strategy replace took the release's values over your changes to the keys database.host, api.api_key (changed, added or deleted since the previous release's copy); your copy is in this update's backup (ship --list-backups); to keep such a value, list it in preserve_keys or use preserve_user`,
      `merge_strategies section "databse" names no key in your copy, the release's or the previous release's, so it did nothing (did you mean "database"?)`,
    ]);
  });

  it("a misspelt preserve_keys entry is named under its section, hinting the section's own keys", () => {
    const result = merge({ api: { strategy: "merge_smart", preserve_keys: ["api_kee", "timeout"] } });
    expect(read(format, result.text)).toEqual({ ...next, api: { api_key: "CHANGE_ME", timeout: 10 } });
    expect(result.warnings).toEqual([
      `merge_strategies section "api": preserve_keys entry "api_kee" names no key in your copy or the release's, so it kept nothing (did you mean "api_key"?)`,
    ]);
  });

  it("entries that name keys (a dotted path too) give no warning that they name nothing", () => {
    const result = merge(
      { "database.pool": "update_only", api: { strategy: "merge_smart", preserve_keys: ["api_key"] } },
      shipped,
    );
    // Only that the user's database.host, which no entry protects, went.
    expect(result.warnings).toEqual([
      `merge_strategy replace took the release's values over your changes to the key database.host (changed, added or deleted since the previous release's copy); your copy is in this update's backup (ship --list-backups); to keep such a value, list it in preserve_keys or use preserve_user`,
    ]);
    expect(read(format, result.text)).toEqual({
      database: { host: "localhost", pool: 5 },
      api: { api_key: "s3cret", timeout: 30 },
    });
  });

  it("entries the last merge named are not named again, but are still returned for the next one", () => {
    const sections = {
      databse: "preserve_user" as const,
      api: { strategy: "merge_smart" as const, preserve_keys: ["api_kee"] },
    };
    const first = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      current: write(format, mine),
      incoming: write(format, next),
      strategy: "update_only",
      sections,
    });
    expect(first.warnings).toHaveLength(2);
    expect(first.unusedSections).toEqual(["databse", "api preserve_keys api_kee"]);
    const again = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      current: write(format, mine),
      incoming: write(format, next),
      strategy: "update_only",
      sections: { ...sections, cache: "replace" },
      unusedSaid: first.unusedSections ?? [],
    });
    expect(again.warnings).toEqual([
      `merge_strategies section "cache" names no key in your copy or the release's, so it did nothing`,
    ]);
    expect(again.unusedSections).toEqual(["databse", "api preserve_keys api_kee", "cache"]);
  });
});
