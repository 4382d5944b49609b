import { describe, expect, it } from "vitest";
import {
  compareVersions,
  isPrerelease,
  isVersionLike,
  parseVersion,
  sortVersions,
} from "../../../shared/versions.js";

describe("compareVersions", () => {
  const table: [string, string, -1 | 0 | 1][] = [
    ["1.0.0", "1.0.0", 0],
    ["1.0.0", "1.0.1", -1],
    ["1.10.0", "1.9.0", 1],
    ["2.0.0", "10.0.0", -1],
    ["v1.2.3", "1.2.3", 0],
    ["V1.2.3", "v1.2.4", -1],
    ["1.2", "1.2.0", 0],
    ["1", "1.0.0", 0],
    ["1.2", "1.2.1", -1],
    ["1.0.0+build.5", "1.0.0+build.7", 0],
    ["1.0.0-alpha", "1.0.0", -1],
    ["1.0.0-alpha", "1.0.0-alpha.1", -1],
    ["1.0.0-alpha.1", "1.0.0-alpha.beta", -1],
    ["1.0.0-beta.2", "1.0.0-beta.11", -1],
    ["1.0.0-1", "1.0.0-alpha", -1],
    ["1.0.0-rc.1", "1.0.0", -1],
    ["0.9.9", "1.0.0-alpha", -1],
    ["1.2.3", "1.2.3.4", -1],
    ["2024.01.15", "2024.1.15", 0],
    ["2024.01.15", "2024.02.01", -1],
    ["1.5.0", "2024.01.15", -1],
    ["r9", "r10", -1],
    ["r10", "ra", -1],
    // A version starting with text says nothing about its place: it sorts before every numeric one.
    ["r1", "9.9.9", -1],
    ["release-7", "0.0.1", -1],
    ["dev", "1.0.0-alpha", -1],
    ["unknown", "2024.01.15", -1],
    ["", "abc", -1],
    ["abc", "abd", -1],
    ["abc", "abc", 0],
    ["r1.2", "r1.10", -1],
    ["123456789012345678901234567890", "123456789012345678901234567891", -1],
    [" 1.2.3 ", "1.2.3", 0],
    // Pre-releases written without semver's "-" (PEP 440, Debian) are pre-releases of their number.
    ["2.0.0rc2", "2.0.0", -1],
    ["2.0.0rc2", "2.0.0-rc.2", 0],
    ["v2.0.0rc2", "1.9.9", 1],
    ["2.0.0rc1", "2.0.0rc2", -1],
    ["2.0.0rc9", "2.0.0rc10", -1],
    ["2.0b2", "2.0.0-beta.2", 0],
    ["2.0a1", "2.0b1", -1],
    ["2.0b1", "2.0rc1", -1],
    ["2.0c1", "2.0rc1", 0],
    ["1.0.0.beta", "1.0.0", -1],
    ["1.0~rc1", "1.0", -1],
    ["2.0.0rc2+build.5", "2.0.0rc2", 0],
    ["1.0.dev1", "1.0a1", -1],
    ["1.0.dev1", "1.0.dev2", -1],
    ["1.0.dev1", "1.0.0-0", -1],
    ["1.0.dev1", "0.9.9", 1],
    ["1.0.post1", "1.0", 1],
    ["1.0.post1", "1.0.post2", -1],
    ["1.0.post1", "1.0.5", -1],
    ["1.0.0.post1", "1.0.0.1", -1],
    ["1.0post1", "1.0.post1", 0],
    // A name before the version (`release-`, `app/`, `myapp-`) is compared as text; what follows
    // is read by every rule above, not as text runs: a prefixed candidate sorts before its release.
    ["release-1.10.0", "release-1.9.0", 1],
    ["release-2.0.0-rc.1", "release-2.0.0", -1],
    ["release-2.0.0rc1", "release-2.0.0", -1],
    ["release-2.0.0-rc.1", "release-1.9.9", 1],
    ["app/2.0.0-beta.2", "app/2.0.0-beta.11", -1],
    ["myapp-1.2.3+build5", "myapp-1.2.3+build6", 0],
    ["myapp-1.2.3+build5", "myapp-1.2.3", 0],
    ["release-1.0", "release-1.0.0", 0],
    ["release-1.0.post1", "release-1.0.1", -1],
    ["release-1.0.dev1", "release-1.0a1", -1],
    ["release-2024.10.1", "release-2024.9.3", 1],
    ["release-1.2.3.4", "release-1.2.3", 1],
    ["release-01.2", "release-1.2", 0],
    ["app2-1.0.0-rc.1", "app2-1.0.0", -1],
    ["app-v1.10.0", "app-v1.9.0", 1],
    ["release-1.0.0", "release-candidate", -1],
    // Numbers joined by dashes alone are a date stamp, not a number and its pre-release.
    ["2024-9-30", "2024-10-01", -1],
    ["2024-10-01", "2024.10.1", 0],
    ["deploy-2024-10-01", "deploy-2024-9-30", 1],
    ["2024-10-01", "2024", 1],
  ];
  it.each(table)("compare(%j, %j) = %i", (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected === 0 ? 0 : -expected);
  });

  it("orders the semver.org precedence example", () => {
    const ordered = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
    ];
    expect(sortVersions([...ordered].reverse())).toEqual(ordered);
  });

  it("is a total, transitive order over a shuffled mix of semver and other strings", () => {
    const pool = [
      "1.0.0-alpha",
      "1.0.0",
      "1.0.0-",
      "1.0",
      "v1.0.1",
      "1.0.0.1",
      "1.0.0x",
      "1.0.0 beta",
      "2024.01.15",
      "r42",
      "r5",
      "abc",
      "",
      "0.0.1",
      "1.0.0-alpha.1",
      "1.0.0-beta.x.01",
      "release-7",
      "7",
      "1.2.3_x",
      "1.5.0",
      "1.0.0rc1",
      "1.0rc2",
      "1.0.dev1",
      "1.0.post1",
      "1.0b2",
      "1.0.0rc1.post1",
      "release-2.0.0",
      "release-2.0.0-rc.1",
      "release-2.0",
      "release-candidate",
      "release-",
      "app2-1.0.0",
      "app2",
      "r1.2",
      "r1.2-x",
      "x86_64-1.0",
    ];
    // Seeded shuffle so a failure reproduces.
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 20; round++) {
      const sorted = sortVersions([...pool].sort(() => rand() - 0.5));
      const reference = sortVersions(pool);
      // Equal versions (1.0 and 1.0.0) may swap; every position must hold an equal version.
      for (const [i, v] of sorted.entries())
        expect(compareVersions(v, reference[i]!), `${v} at ${i}`).toBe(0);
    }
    for (const a of pool) {
      expect(compareVersions(a, a)).toBe(0);
      for (const b of pool) {
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
        for (const c of pool) {
          if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) {
            expect(compareVersions(a, c), `${a} <= ${b} <= ${c}`).toBeLessThanOrEqual(0);
          }
        }
      }
    }
  });
});

describe("parseVersion", () => {
  it("reads semver parts, defaults and pre-release identifiers", () => {
    expect(parseVersion("v1.2-rc.1+sha.abc")).toEqual({
      kind: "semver",
      raw: "v1.2-rc.1+sha.abc",
      core: [1, 2, 0],
      prerelease: ["rc", 1],
      build: ["sha", "abc"],
    });
  });
  it("reads a worded pre-release in semver's words, and a post-release's number", () => {
    expect(parseVersion("2.0b2")).toMatchObject({ kind: "semver", core: [2, 0, 0], prerelease: ["beta", 2] });
    expect(parseVersion("1.0.0rc1")).toMatchObject({
      kind: "semver",
      core: [1, 0, 0],
      prerelease: ["rc", 1],
    });
    expect(parseVersion("1.0.dev3")).toMatchObject({ kind: "semver", prerelease: ["dev", 3] });
    expect(parseVersion("1.0.post2")).toMatchObject({
      kind: "semver",
      core: [1, 0, 0],
      prerelease: [],
      post: 2,
    });
  });
  it("splits other strings into runs, dropping dot separators", () => {
    expect(parseVersion("r42.7b")).toEqual({ kind: "other", raw: "r42.7b", runs: ["r", 42, 7, "b"] });
  });
});

describe("isVersionLike", () => {
  it.each([
    ["1.2.3", true],
    ["v2", true],
    ["2024.01.15", true],
    ["r42", true],
    ["1.0.0-rc.1+b", true],
    ["abc", false],
    ["latest", false],
    ["1 2", false],
    ["", false],
  ])("%j → %s", (s, expected) => {
    expect(isVersionLike(s)).toBe(expected);
  });
});

describe("isPrerelease", () => {
  it.each([
    "2.0.0-rc.1",
    "v2.0.0-rc.1",
    "1.0.0-beta",
    "1.0.0-1",
    "1.0.0rc1",
    "2.0b2",
    "1.0.0.beta",
    "1.0~rc1",
    "myapp-2.0.0-rc.1",
    "r3.0.0-alpha.1",
    "1.0.dev1",
    "2.0.0RC2",
    "release-2.0.0rc1",
    "app2-1.0.0-rc.1",
  ])("%s is one", (v) => {
    expect(isPrerelease(v)).toBe(true);
  });
  it.each([
    "2.0.0",
    "v1.2",
    "1.0.0+build.7",
    "2024.01.15",
    "release-7",
    "stable",
    "r42",
    "",
    "1.0.post1",
    "app2-1.0.0",
    "myapp-1.2.3+build5",
    "2024-10-01",
    "deploy-2024-10-01-1530",
  ])("%s is not", (v) => {
    expect(isPrerelease(v)).toBe(false);
  });
});

describe("compareVersions on versions compared before", () => {
  it("answers as the first time, while their keys are kept and after more versions pushed them out", () => {
    // More distinct versions than the keys kept (1,024), in three forms each, compared twice:
    // a key kept from an earlier comparison must order as one built from the text.
    const versions = Array.from({ length: 1500 }, (_, i) => [`1.${i}.0`, `1.${i}.0-rc.1`, `r${i}`]).flat();
    const first = versions.map((v, i) => compareVersions(v, versions[(i * 7) % versions.length] ?? "0"));
    const again = versions.map((v, i) => compareVersions(v, versions[(i * 7) % versions.length] ?? "0"));
    expect(again).toEqual(first);
    expect(compareVersions("1.10.0", "1.9.0")).toBe(1);
    expect(compareVersions("1.9.0", "1.10.0")).toBe(-1);
    expect(compareVersions("1.9.0-rc.1", "1.9.0")).toBe(-1);
    expect(compareVersions("1.9.0", "1.9.0-rc.1")).toBe(1);
    expect(sortVersions(["r10", "1.0.0", "r9", "1.0.0-rc.1"])).toEqual(["r9", "r10", "1.0.0-rc.1", "1.0.0"]);
  });
});
