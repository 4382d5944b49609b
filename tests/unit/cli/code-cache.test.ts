/**
 * The V8 code cache of the quick commands (shared/cli/code-cache.ts), in real child processes: used
 * for the bundle it was made from, never for another one — not even one of the same length, which V8
 * alone would accept and run as the old code.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CODE_CACHE = fileURLToPath(new URL("../../../dist/shared/cli/code-cache.js", import.meta.url));
const run = promisify(execFile);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-code-cache-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Loads `bundle` through the cache in a fresh process: what its answer() returned, and the cache's fate. */
async function load(bundle: string): Promise<{ answer: string; cache: string }> {
  const script = `
    import { loadWithCodeCache } from ${JSON.stringify(CODE_CACHE)};
    const m = loadWithCodeCache(${JSON.stringify(bundle)}, "test");
    const answer = m.exports.answer();
    m.settle();
    console.log(JSON.stringify({ answer, cache: m.cache() }));`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  return JSON.parse(stdout) as { answer: string; cache: string };
}

/** A CommonJS "bundle" with enough code for V8 to cache; `word` is what answer() returns. */
function bundleText(word: string): string {
  const helpers = Array.from({ length: 50 }, (_, i) => `function h${i}(x) { return x + ${i}; }`).join("\n");
  return `${helpers}\nexports.answer = () => ${JSON.stringify(word)} + h3(0);\n`;
}

describe("code cache of the quick commands", () => {
  it("is written on the first run and used on the next, with the same result", async () => {
    const dir = join(root, "reuse");
    await mkdir(dir);
    const bundle = join(dir, "quick-AAAA.cjs");
    await writeFile(bundle, bundleText("alpha"));
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "written" });
    const cache = `${bundle}.test.v8cache`;
    expect((await stat(cache)).mode & 0o777).toBe(0o644);
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "used" });
  });

  it("is never used for a bundle rewritten in place, even at the same length", async () => {
    const dir = join(root, "stale");
    await mkdir(dir);
    const bundle = join(dir, "quick-BBBB.cjs");
    await writeFile(bundle, bundleText("alpha"));
    expect((await load(bundle)).cache).toBe("written");
    await writeFile(bundle, bundleText("omega")); // same length, other code
    expect(await load(bundle)).toEqual({ answer: "omega3", cache: "written" });
    expect(await load(bundle)).toEqual({ answer: "omega3", cache: "used" });
  });

  it("ignores a cache made elsewhere, garbled or writable by others, and rewrites it", async () => {
    const dir = join(root, "foreign");
    await mkdir(dir);
    const bundle = join(dir, "quick-CCCC.cjs");
    const cache = `${bundle}.test.v8cache`;
    await writeFile(bundle, bundleText("alpha"));
    expect((await load(bundle)).cache).toBe("written");
    const good = await readFile(cache);
    // Another Node's header (V8 would refuse its data anyway), then garbage after a valid header.
    await writeFile(cache, Buffer.from(good.toString("latin1").replace(process.version, "v0.0.0"), "latin1"));
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "written" });
    const header = good.subarray(0, good.indexOf(10) + 1);
    await writeFile(cache, Buffer.concat([header, Buffer.from("not V8 data at all")]));
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "rejected-rewritten" });
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "used" });
    // Group- or world-writable: someone else could have put code there.
    await chmod(cache, 0o666);
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "written" });
    expect((await stat(cache)).mode & 0o777).toBe(0o644);
  });

  it("refuses a payload changed after its header (V8 would run or crash on it) and rewrites it", async () => {
    const dir = join(root, "damaged");
    await mkdir(dir);
    const bundle = join(dir, "quick-EEEE.cjs");
    const cache = `${bundle}.test.v8cache`;
    await writeFile(bundle, bundleText("alpha"));
    expect((await load(bundle)).cache).toBe("written");
    const good = await readFile(cache);
    const start = good.indexOf(10) + 1;
    // One bit anywhere in the payload, the payload cut short, a byte more.
    for (const at of [start, Math.floor((start + good.length) / 2), good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] = (bad[at] ?? 0) ^ 0x10;
      await writeFile(cache, bad);
      expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "rejected-rewritten" });
      expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "used" });
    }
    for (const bad of [good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])])]) {
      await writeFile(cache, bad);
      expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "rejected-rewritten" });
    }
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "used" });
  });

  it("takes a cache in the format before checksums as none: rewritten once, then used", async () => {
    const dir = join(root, "old-format");
    await mkdir(dir);
    const bundle = join(dir, "quick-FFFF.cjs");
    const cache = `${bundle}.test.v8cache`;
    await writeFile(bundle, bundleText("alpha"));
    expect((await load(bundle)).cache).toBe("written");
    const good = await readFile(cache);
    const start = good.indexOf(10) + 1;
    // Version 1's header: the bundle's identity alone, no payload length and checksum.
    const fields = good
      .subarray(0, start - 1)
      .toString("latin1")
      .split(" ");
    const v1 = `${["ship-v8-code-cache", "1", ...fields.slice(2, -2)].join(" ")}\n`;
    await writeFile(cache, Buffer.concat([Buffer.from(v1, "latin1"), good.subarray(start)]));
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "written" });
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "used" });
  });

  it("runs the bundle all the same where the cache cannot be written", async () => {
    const dir = join(root, "unwritable");
    await mkdir(dir);
    const bundle = join(dir, "quick-DDDD.cjs");
    await writeFile(bundle, bundleText("alpha"));
    // A directory where the cache goes (root may write anywhere, but cannot replace that).
    await mkdir(join(dir, "quick-DDDD.cjs.test.v8cache"));
    expect(await load(bundle)).toEqual({ answer: "alpha3", cache: "unwritable" });
  });
});

describe("a source-mapped bundle (ship agent's)", () => {
  it("names its .ts sources in stack traces, compiled or from the cache", async () => {
    const dir = join(root, "mapped");
    await mkdir(dir);
    const source = join(dir, "thrower.ts");
    // The throw on line 3, column 9 of the source; the bundle's first line holds a banner.
    await writeFile(
      source,
      [
        "export function fail(reason: string): never {",
        '  const note: string = "failed: " + reason;',
        "  throw new Error(note);",
        "}",
        "",
      ].join("\n"),
    );
    const bundle = join(dir, "agent-CCCC.cjs");
    const { build } = await import("esbuild");
    await build({
      entryPoints: [source],
      outfile: bundle,
      bundle: true,
      format: "cjs",
      platform: "node",
      sourcemap: "linked",
      sourcesContent: false,
      banner: { js: "var banner = 1;" },
      logLevel: "silent",
    });
    const script = `
      import { loadWithCodeCache } from ${JSON.stringify(CODE_CACHE)};
      const m = loadWithCodeCache(${JSON.stringify(bundle)}, "agent", { sourceMapped: true });
      let stack = "";
      try { m.exports.fail("disk full"); } catch (error) { stack = error.stack; }
      m.settle();
      console.log(JSON.stringify({ stack, cache: m.cache() }));`;
    for (const cache of ["written", "used"]) {
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
      const result = JSON.parse(stdout) as { stack: string; cache: string };
      expect(result.cache).toBe(cache);
      const [head, first] = result.stack.split("\n");
      expect(head).toBe("Error: failed: disk full");
      expect(first).toBe(`    at Object.fail (${source}:3:9)`);
    }
  });
});
