/**
 * A big TOML config merges in time that grows with the file, not with its square: each copy was
 * scanned again for every list the merge left unchanged (list-notes.ts), and each `[table]` header
 * was checked against every header before it (toml-scan.ts), so 2,000 small tables holding a list
 * took minutes of CPU.
 */
import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { pairElements } from "../../../agent/merge/toml-element-pairing.js";
import { cpuMsOf } from "../../support/cpu-time.js";

/** `count` tables with a note, a list and a ratio each; every 50th ratio differs in the release. */
function tables(count: number, release: boolean): string {
  const blocks: string[] = [];
  for (let k = 0; k < count; k++) {
    const ratio = release && k % 50 === 0 ? `0.${k}1` : `0.${k}`;
    blocks.push(`[t${k}]\nname = "s${k}" # note ${k}\nweights = [1.5, 2.5]\nratio = ${ratio}\n`);
  }
  return blocks.join("\n");
}

describe("TOML merges scale linearly", () => {
  it("in a file of many tables each holding a list, the changed values are taken in seconds", () => {
    const user = tables(1500, false);
    let result: ReturnType<typeof mergeConfigFile> | undefined;
    const { cpuMs } = cpuMsOf(() => {
      result = mergeConfigFile({
        format: "toml",
        fileName: "big.toml",
        current: user,
        incoming: tables(1500, true),
        base: user,
        strategy: "preserve_user",
      });
    });
    expect(result?.text).toBe(tables(1500, true));
    expect(result?.updated).toHaveLength(30);
    // Over 12 s of CPU at 1,000 tables before (quadratic); about two seconds at 1,500 now.
    expect(cpuMs).toBeLessThan(10_000);
  }, 180_000);
});

describe("TOML text edits cost what they change, not the file's length each", () => {
  const keys = (count: number, value: (i: number) => string | undefined) =>
    Array.from({ length: count }, (_, i) => value(i))
      .filter((line) => line !== undefined)
      .join("");

  it.each([
    ["changes", (i: number) => `# note ${i}\nk${i} = ${i % 2 ? i : i + 1}\n`],
    ["removes", (i: number) => (i % 2 ? `# note ${i}\nk${i} = ${i}\n` : undefined)],
  ] as const)(
    "a release that %s half the keys of a 20,000-key file merges in seconds",
    (_, release) => {
      const user = keys(20_000, (i) => `# note ${i}\nk${i} = ${i}\n`);
      const incoming = keys(20_000, release);
      let result: ReturnType<typeof mergeConfigFile> | undefined;
      const { cpuMs } = cpuMsOf(() => {
        result = mergeConfigFile({
          format: "toml",
          fileName: "big.toml",
          current: user,
          incoming,
          base: user,
          strategy: "preserve_user",
        });
      });
      expect(result?.text).toBe(incoming);
      // Each edit looked its key up entry by entry in three copies, rebuilt the whole text and read it
      // from its start to close a gap: 88 s of CPU for the changes, 34 s for the removals; then each
      // removal looked up the key after it, and each kept key its owner, through every item (10 s
      // for the removals, 16-24 s in CI); 1-6 s now.
      expect(cpuMs).toBeLessThan(15_000);
    },
    300_000,
  );
});

describe("TOML lists pair their items in time linear in their length", () => {
  it("a release reordering a list of 30,000 floats the user spelt otherwise keeps the user's spellings", () => {
    const floats = (spelling: string) => Array.from({ length: 30_000 }, (_, i) => `${i}.5${spelling}`);
    const list = (items: readonly string[]) => `weights = [${items.join(", ")}]\n`;
    const base = list(floats(""));
    let result: ReturnType<typeof mergeConfigFile> | undefined;
    const { cpuMs } = cpuMsOf(() => {
      result = mergeConfigFile({
        format: "toml",
        fileName: "weights.toml",
        current: list(floats("0")),
        incoming: list(floats("").reverse()),
        base,
        strategy: "preserve_user",
      });
    });
    expect(result?.text).toBe(list(floats("0").reverse()));
    expect(result?.updated).toEqual(["weights"]);
    // Each release item was looked for among every free item of the user's: minutes at this length
    // (8,000 exact floats took 29.6 s); about a second now.
    expect(cpuMs).toBeLessThan(10_000);
  }, 600_000);

  it("pairing [[array]] elements compares each element a bounded number of times, not once per other element", () => {
    let reads = 0;
    // Each read of an element's keys is one look at it: a comparison, or its hash taken once.
    const counted = (port: number) =>
      new Proxy(
        { port, weight: port + 0.5 },
        {
          ownKeys: (target) => {
            reads++;
            return Reflect.ownKeys(target);
          },
        },
      );
    const count = 3_000;
    const mine = Array.from({ length: count }, (_, i) => counted(i));
    const theirs = Array.from({ length: count }, (_, i) => counted(count - 1 - i));
    const { pairs } = pairElements(mine, theirs);
    expect(pairs).toEqual(Array.from({ length: count }, (_, i) => count - 1 - i));
    // Pair by pair it was count² / 2 comparisons (4.5 million); a few per element now.
    expect(reads).toBeLessThan(count * 10);
  });
});

describe("[[array]] elements without an identity key pair the most alike in bounded work", () => {
  // Each read of an element's keys is one look at it: a comparison, or its values taken once.
  let reads = 0;
  const counted = <T extends object>(element: T): T =>
    new Proxy(element, {
      ownKeys: (target) => {
        reads++;
        return Reflect.ownKeys(target);
      },
    });
  const count = 3_000;

  it("a release changing a value in every element and adding one compares each element a few times", () => {
    // No name, id or key, numbers only: every element is unmatched by value, and the lengths differ.
    const mine = Array.from({ length: count }, (_, i) => counted({ port: i, weight: i + 0.5, on: true }));
    const theirs = [
      ...Array.from({ length: count }, (_, i) => counted({ port: i + 10_000, weight: i + 0.5, on: true })),
      counted({ port: 1, weight: 1, on: false }),
    ];
    reads = 0;
    const { pairs } = pairElements(mine, theirs);
    expect(pairs).toEqual([...Array.from({ length: count }, (_, i) => i), undefined]);
    // Every unmatched element scored against every free one: count² (9 million) comparisons.
    expect(reads).toBeLessThan(count * 40);
  });

  it("elements whose values are all common pair by place, still in bounded work", () => {
    const mine = Array.from({ length: count }, () => counted({ on: true, mode: "a" }));
    const theirs = Array.from({ length: count + 1 }, () => counted({ on: true, mode: "b" }));
    reads = 0;
    const { pairs } = pairElements(mine, theirs);
    expect(pairs).toEqual([...Array.from({ length: count }, (_, i) => i), undefined]);
    expect(reads).toBeLessThan(count * 40);
  });
});

describe("TOML arrays of tables merge in time linear in their elements", () => {
  it("a release changing every element of a 1,500-element [[array]] keeps each element's comment", () => {
    const elements = (port: number, note: string) =>
      Array.from(
        { length: 1_500 },
        (_, i) => `[[servers]]\nname = "s${i}"\n${note}port = ${port + i}\n`,
      ).join("\n");
    let result: ReturnType<typeof mergeConfigFile> | undefined;
    const { cpuMs } = cpuMsOf(() => {
      result = mergeConfigFile({
        format: "toml",
        fileName: "servers.toml",
        current: elements(1000, "# ops: checked\n"),
        incoming: elements(2000, ""),
        base: elements(1000, ""),
        strategy: "preserve_user",
      });
    });
    expect(result?.text).toBe(elements(2000, "# ops: checked\n"));
    expect(result?.warnings).toEqual([]);
    // Each changed element read the previous release's whole copy again and walked every header to
    // find its block: 33 s of CPU at this size, 70 s at 2,000; a second or two now.
    expect(cpuMs).toBeLessThan(8_000);
  }, 600_000);
});
