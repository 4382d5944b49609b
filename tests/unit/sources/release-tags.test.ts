import { describe, expect, it } from "vitest";
import { chooseReleaseTag, statedVersion, tagNamesVersion } from "../../../agent/sources/release-tags.js";

const newest = (tags: string[], includePrereleases = false) =>
  chooseReleaseTag(tags, includePrereleases).newest;

describe("chooseReleaseTag", () => {
  it.each([
    // The version after the name decides, never the tag as text.
    [["release-1.9.0", "release-1.10.0"], "release-1.10.0"],
    [["app/2.0.0", "app/10.0.0", "app/9.9.9"], "app/10.0.0"],
    [["myapp-1.2.3", "myapp-1.2.10"], "myapp-1.2.10"],
    [["v1.9.0", "release-1.10.0", "app/1.9.5"], "release-1.10.0"],
    [["release-2024.9.3", "release-2024.10.1"], "release-2024.10.1"],
    [["2024.9.3", "2024.10.1"], "2024.10.1"],
    [["release-1.2.3", "release-1.2.3.4"], "release-1.2.3.4"],
    [["release-2024.01.15", "release-2024.1.9"], "release-2024.01.15"],
    [["V1.2", "v1.10"], "v1.10"],
    [["app2-1.0.0", "app2-0.9.0"], "app2-1.0.0"],
    [["app-v1.9.0", "app-v1.10.0"], "app-v1.10.0"],
    [["r9", "r10"], "r10"],
    [["release-1.0.0", "release-1.1.0-rc.1", "release-1.1.0rc2"], "release-1.0.0"],
    [["release-1.0.post1", "release-1.0.1"], "release-1.0.1"],
    // Build metadata says nothing of order; the tie is broken the same way every time.
    [["myapp-1.2.3+build5", "myapp-1.2.3+build10", "myapp-1.2.2"], "myapp-1.2.3+build10"],
    [["release-candidate", "release-latest", "release-1.0.0"], "release-1.0.0"],
    [["stable", "1.0.0"], "1.0.0"],
    [["production"], "production"],
    [["deploy-2024-9-30", "deploy-2024-10-01"], "deploy-2024-10-01"],
  ])("%j → %s", (tags, expected) => {
    expect(newest(tags)).toBe(expected);
    expect(newest([...tags].reverse())).toBe(expected);
  });

  it("takes a prefixed candidate only when asked, and below its release", () => {
    expect(newest(["release-1.10.0-rc.1", "release-1.9.0"], true)).toBe("release-1.10.0-rc.1");
    expect(newest(["release-1.10.0-rc.1", "release-1.10.0", "release-1.9.0"], true)).toBe("release-1.10.0");
    expect(chooseReleaseTag(["release-2.0.0-rc.1", "release-1.9.0"], false).skipped).toEqual([
      "release-2.0.0-rc.1",
    ]);
  });

  it("names the tags naming no version it ignored, and leaves several of them alone unordered", () => {
    expect(chooseReleaseTag(["stable", "v1.0.0", "latest"], false)).toEqual({
      newest: "v1.0.0",
      skipped: [],
      ignored: ["latest", "stable"],
      unordered: [],
    });
    expect(chooseReleaseTag(["deploy-green", "deploy-blue"], false)).toEqual({
      newest: undefined,
      skipped: [],
      ignored: [],
      unordered: ["deploy-blue", "deploy-green"],
    });
  });
});

describe("statedVersion", () => {
  it.each([
    ["v2.3.0", "2.3.0"],
    ["2.3.0", "2.3.0"],
    ["V7", "7"],
    ["release-2.3.0", "2.3.0"],
    ["app/2.3", "2.3"],
    ["myapp-v1.2.3", "1.2.3"],
    ["release-2024.10.1", "2024.10.1"],
    ["release-7", undefined],
    ["r42", undefined],
    ["build-1234", undefined],
    ["stable", undefined],
  ])("%s → %s", (tag, expected) => {
    expect(statedVersion(tag)).toBe(expected);
  });
  it("a tag names its manifest's version when stated, or when it is that version as a whole", () => {
    expect(tagNamesVersion("release-2.3.0", "2.3.0")).toBe(true);
    expect(tagNamesVersion("release-2.3.0", "release-2.3.0")).toBe(true);
    expect(tagNamesVersion("release-2.3.0", "2.2.0")).toBe(false);
    expect(tagNamesVersion("build-7", "7.0.0")).toBe(false);
    // A manifest naming its version the way another tag does (`app-2.3.0` under `v2.3.0`) names 2.3.0.
    expect(tagNamesVersion("v2.3.0", "app-2.3.0")).toBe(true);
    expect(tagNamesVersion("release-2.3.0", "app-2.3.1")).toBe(false);
  });
});
