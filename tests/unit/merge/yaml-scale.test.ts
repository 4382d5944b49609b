/**
 * A big YAML config merges in time that grows with the file, not with its square, and a key
 * written twice in one mapping is still refused, named with its line.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { BadInputError, formatIssue } from "../../../shared/errors.js";
import { parseManifestText } from "../../../shared/manifest/load.js";
import { cpuMsOf } from "../../support/cpu-time.js";
import { read } from "./formats.js";

/** One flat mapping of `count` keys with a comment each; every 28th value differs in the release. */
function flat(count: number, release: boolean): string {
  const lines: string[] = [];
  for (let k = 0; k < count; k++) {
    lines.push(`key_${k}: ${release && k % 28 === 0 ? "new" : "v"}${k}   # note ${k}`);
  }
  return `${lines.join("\n")}\n`;
}

const merge = (current: string, incoming: string, base?: string) =>
  mergeConfigFile({
    format: "yaml",
    fileName: "big.yaml",
    current,
    incoming,
    strategy: "preserve_user",
    ...(base === undefined ? {} : { base }),
  });

function refusal(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof BadInputError) return error.issues.map(formatIssue);
    throw error;
  }
  throw new Error("expected a BadInputError");
}

/** Five times and more the CPU a refusal of 16,000 aliases takes now (0.5–0.9 s measured). */
const CPU_BOUND_MS = 5_000;

describe("YAML merges scale linearly", () => {
  it("a 20,000-key mapping with 715 changed defaults merges in seconds, every change reported", () => {
    const user = flat(20_000, false);
    const release = flat(20_000, true);
    let result: ReturnType<typeof merge> | undefined;
    const { cpuMs: ms } = cpuMsOf(() => {
      result = merge(user, release, user);
    });
    expect(result?.updated).toHaveLength(715);
    expect(result?.warnings).toEqual([]);
    // Each line keeps its comment (at its column); the changed ones take the release's value.
    expect(result?.text.split("\n").slice(27, 30)).toEqual([
      "key_27: v27   # note 27",
      "key_28: new28 # note 28",
      "key_29: v29   # note 29",
    ]);
    // The library's own duplicate-key check compared every key with every earlier one: ~19 s of
    // CPU here. Linear it is ~2 s.
    expect(ms).toBeLessThan(10_000);
  }, 120_000);

  it("a release dropping half the keys of a 20,000-key mapping merges in seconds", () => {
    const mapping = (keep: (k: number) => boolean) =>
      Array.from({ length: 20_000 }, (_, k) => (keep(k) ? `# note ${k}\nkey_${k}: v${k}\n` : "")).join("");
    const user = mapping(() => true);
    const incoming = mapping((k) => k % 2 === 1);
    let result: ReturnType<typeof mergeConfigFile> | undefined;
    const { cpuMs } = cpuMsOf(() => {
      result = mergeConfigFile({
        format: "yaml",
        fileName: "big.yaml",
        current: user,
        incoming,
        base: user,
        strategy: "preserve_user",
      });
    });
    expect(result?.text).toBe(incoming);
    expect(result?.removed).toHaveLength(10_000);
    // The key index was built again after each removal: 50 s of CPU; about 4 s now.
    expect(cpuMs).toBeLessThan(15_000);
  }, 300_000);

  it("in a big mapping (keys looked up by index), every edit finds its own key, first of alike keys, past << and removals", () => {
    const keys = (from: number, to: number, value: (k: number) => string) =>
      Array.from({ length: to - from }, (_, i) => `  k${from + i}: ${value(from + i)}`).join("\n");
    // 1 and '1' read alike: the first is the one ownPair() finds; << gives `inherited`.
    const head = "defaults: &d {inherited: 1, shared: 1}\nsvc:\n  <<: *d\n  1: one\n  '1': text\n";
    const base = `${head}${keys(0, 200, (k) => `v${k}`)}\n`;
    const user = base.replace("k5: v5", "k5: mine");
    const release = `defaults: {inherited: 1, shared: 1}\nsvc:\n  1: one\n  '1': text\n  inherited: 1\n  shared: 2\n${keys(
      0,
      200,
      (k) => (k % 3 === 0 ? `new${k}` : `v${k}`),
    )
      .split("\n")
      .filter((line) => !/ k(1|7|100|199):/.test(line))
      .join("\n")}\n  added: x\n`;
    const result = merge(user, release, base);
    expect(result.warnings).toEqual([]);
    const svc = (read("yaml", result.text) as { svc: Record<string, unknown> }).svc;
    expect(svc.k5).toBe("mine");
    expect(svc.k3).toBe("new3");
    expect(svc.k198).toBe("new198");
    expect(svc.k7).toBeUndefined();
    expect(svc.k199).toBeUndefined();
    expect(svc.added).toBe("x");
    expect(svc.shared).toBe(2);
    expect(svc["1"]).toBe("text");
    expect(result.removed).toEqual(["svc.k1", "svc.k7", "svc.k100", "svc.k199"]);
    expect(result.updated).toHaveLength(68);
    expect(result.updated).toContain("svc.shared");
  });

  // yaml's alias.resolve(doc) walks the whole document for each alias: 16,000 of them (48 KB) held
  // a merge 100 s of CPU naming a problem, in the timer's run or the daemon's instruction alike.
  it("16,000 aliases of one anchor (48 KB) are refused in a walk of the file, not one per alias", () => {
    const many = `a: &a 0\nport: 80\nlist: [${Array(16_000).fill("*a").join(",")}]\n`;
    expect(many.length).toBeGreaterThan(48_000);
    let refused: string[] = [];
    const { cpuMs } = cpuMsOf(() => {
      refused = refusal(() => merge("port: 80\n", many));
    });
    // The alias that passes 10,000 repeated values is named, in ship's words, not yaml's bare
    // "Excessive alias count indicates a resource exhaustion attack" after a walk per alias.
    expect(refused).toEqual([
      `big.yaml:3:${8 + 3 * 10_000} cannot merge: the release's copy does not parse: its aliases repeat more than 10,000 values in all, the limit (an alias counts as each key, value and list item it repeats)`,
    ]);
    // Refused before toJS: CPU_BOUND_MS measured (3.7 s when toJS refused it).
    expect(cpuMs).toBeLessThan(CPU_BOUND_MS);
  }, 120_000);

  // yaml bounds the uses of each anchor (1,000), not of all: 20 anchors used 800 times each (16,000
  // aliases, 48 KB) passed it, and its toJS then held a merge over 30 s of CPU.
  it("20 anchors used 800 times each are refused in any copy, naming the alias past the limit", () => {
    const anchors = Array.from({ length: 20 }, (_, i) => `a${i}: &a${i} ${i}\n`).join("");
    const uses = Array.from({ length: 20 }, (_, i) => Array(800).fill(`*a${i}`)).flat();
    const many = `${anchors}list: [${uses.join(",")}]\n`;
    expect(many.length).toBeGreaterThan(48_000);
    // The 10,001st alias: after 800 uses each of a0…a9 (4 bytes, `*aN,`) and 2,000 of a10 on (5).
    const column = 8 + 8_000 * 4 + 2_000 * 5;
    const refusedAs = (role: string) =>
      `big.yaml:21:${column} cannot merge: ${role} does not parse: its aliases repeat more than 10,000 values in all, the limit (an alias counts as each key, value and list item it repeats)`;
    let refused: string[] = [];
    const { cpuMs } = cpuMsOf(() => {
      refused = refusal(() => merge("port: 80\n", many));
    });
    expect(refused).toEqual([refusedAs("the release's copy")]);
    expect(cpuMs).toBeLessThan(CPU_BOUND_MS);
    expect(refusal(() => merge(many, "port: 80\n"))).toEqual([refusedAs("the server's copy")]);
    expect(refusal(() => merge("port: 80\n", "port: 80\n", many))).toEqual([
      refusedAs("the previous release's copy"),
    ]);
  }, 120_000);

  it("an alias counts as what it repeats: 11 uses of a 1,000-item anchor are refused, 9 merge", () => {
    const block = `base: &b [${Array(999).fill("0").join(",")}]\n`;
    const uses = (n: number) => `${block}${Array.from({ length: n }, (_, i) => `u${i}: *b\n`).join("")}`;
    expect(merge("port: 80\n", uses(9)).warnings).toEqual([]);
    expect(refusal(() => merge("port: 80\n", uses(11)))).toEqual([
      "big.yaml:12:6 cannot merge: the release's copy does not parse: its aliases repeat more than 10,000 values in all, the limit (an alias counts as each key, value and list item it repeats)",
    ]);
  });

  it("a key written twice is still refused, naming the key and both lines, in any copy", () => {
    const user = `${flat(20_000, false)}key_5: again\n`;
    expect(refusal(() => merge(user, flat(3, false)))).toEqual([
      'big.yaml:20001:1 cannot merge: the server\'s copy does not parse: the key "key_5" is written twice in one mapping (also on line 6); remove one',
    ]);
    const nested = "db:\n  host: a\n  port: 1\n  'host': b\n";
    expect(refusal(() => merge("db: {}\n", nested))).toEqual([
      'big.yaml:4:3 cannot merge: the release\'s copy does not parse: the key "host" is written twice in one mapping (also on line 2); remove one',
    ]);
    expect(refusal(() => merge("a: 1\n", "a: 1\n", "x: {p: 1, p: 2}\n"))).toEqual([
      'big.yaml:1:11 cannot merge: the previous release\'s copy does not parse: the key "p" is written twice in one mapping (also at column 5 of that line); remove one',
    ]);
  });

  it("the earlier of a syntax error and a repeated key is the one reported", () => {
    expect(refusal(() => merge("a: 1\na: 2\nb: [1\n", "a: 1\n"))[0]).toMatch(
      /^big\.yaml:2:1 .*the key "a" is written twice/,
    );
    expect(refusal(() => merge("b: [1, 2\nc: 3\na: 1\na: 2\n", "a: 1\n"))[0]).not.toMatch(/written twice/);
  });

  it("keys that only read alike, and repeated << merge keys, are not duplicates", () => {
    const user = "base: &b {x: 1}\nmore: &m {y: 2}\nsvc:\n  <<: *b\n  <<: *m\n1: one\n'1': text\n";
    const result = merge(user, "base: {x: 1}\nmore: {y: 2}\nsvc: {x: 1, y: 2, z: 3}\n");
    expect(result.added).toEqual(["svc.z"]);
    // A manifest's mapping may take two << merge keys as well: refused before as "keys must be unique".
    const manifest = [
      'version: "1.0.0"',
      "x-merge: &merge {action: merge_yaml}",
      "x-keep: &keep {merge_strategy: preserve_user}",
      "files:",
      "  config.yaml:",
      "    <<: *merge",
      "    <<: *keep",
      "",
    ].join("\n");
    expect(parseManifestText(manifest, "m.yaml").manifest.files["config.yaml"]).toMatchObject({
      action: "merge_yaml",
      merge_strategy: "preserve_user",
    });
  });
});

describe("YAML lists pair their items in time linear in their length", () => {
  it("a release changing every item of a list of 300 commented mappings keeps each item's comment", () => {
    const list = (port: number, note: string) =>
      `servers:\n${Array.from({ length: 300 }, (_, i) => `  - name: s${i}${note}\n    port: ${port + i}`).join("\n")}\n`;
    // Items are found by hash (the user's, and the previous release's by value and by name).
    const result = mergeConfigFile({
      format: "yaml",
      fileName: "servers.yaml",
      current: list(1000, "  # ops: checked"),
      incoming: list(2000, ""),
      base: list(1000, ""),
      strategy: "preserve_user",
    });
    expect(result.text).toBe(list(2000, "  # ops: checked"));
    expect(result.warnings).toEqual([]);
  });

  it("a release reordering a list of 20,000 numbers the user spelt otherwise keeps the user's spellings", () => {
    const numbers = (spelling: string) => Array.from({ length: 20_000 }, (_, i) => `${i}.5${spelling}`);
    const list = (items: readonly string[]) => `weights:\n${items.map((item) => `  - ${item}`).join("\n")}\n`;
    let result: ReturnType<typeof mergeConfigFile> | undefined;
    const { cpuMs } = cpuMsOf(() => {
      result = mergeConfigFile({
        format: "yaml",
        fileName: "weights.yaml",
        current: list(numbers("0")),
        incoming: list(numbers("").reverse()),
        base: list(numbers("")),
        strategy: "preserve_user",
      });
    });
    expect(result?.text).toBe(list(numbers("0").reverse()));
    // Each release item was looked for among every free item of the user's: 68 s of CPU before.
    expect(cpuMs).toBeLessThan(10_000);
  }, 600_000);
});
