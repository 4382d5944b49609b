/**
 * `--check-only` of a local .tar.gz whose sha256 ship has not learnt yet reads the archive once: the
 * check leaves the hash to the fetch's extraction (as a real run does) instead of reading the whole
 * archive for the hash and then again to extract it. Bytes read are this process's `rchar`
 * (/proc/self/io: every read() of the process, page cache or not), so the proof is the real read.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

/** Bytes this process has read so far (Linux /proc/self/io). */
function bytesRead(): number {
  const line = readFileSync("/proc/self/io", "utf8")
    .split("\n")
    .find((l) => l.startsWith("rchar:"));
  return Number(line?.slice("rchar:".length));
}

/** A release of `version` packed with the real tar; its payload does not compress, so the archive is ~8 MB. */
async function archive(name: string, version: string): Promise<{ path: string; size: number }> {
  const dir = await box.release(name, { "app.txt": `${version}\n` }, { version });
  await writeFile(join(dir, "payload.bin"), randomBytes(8 << 20));
  const path = join(box.root, "releases", `${name}.tar.gz`);
  execFileSync("tar", ["-czf", path, "-C", dir, "."]);
  return { path, size: (await stat(path)).size };
}

describe("--check-only of a local archive not hashed yet", () => {
  it("reads it once, names its sha256 and says update available (exit 100); writes nothing", async () => {
    const v1 = await archive("v1", "1.0.0");
    const before = bytesRead();
    const checked = await box.run(v1.path, { checkOnly: true });
    const read = bytesRead() - before;
    expect(checked.exitCode).toBe(100);
    expect(checked.apps[0]?.result).toBe("update_available");
    expect(checked.apps[0]?.message).toMatch(
      /update available \(nothing installed\) -> sha256:[0-9a-f]{12} from /,
    );
    expect(read).toBeGreaterThan(v1.size);
    expect(read).toBeLessThan(v1.size * 1.5);
    // Nothing recorded: a second check reads it (once) again.
    const again = await box.run(v1.path, { checkOnly: true });
    expect(again.apps[0]?.message).toBe(checked.apps[0]?.message);
  });

  it("an installed archive whose stat moved is read once and found up to date (exit 0)", async () => {
    const v1 = await archive("v1", "1.0.0");
    expect((await box.run(v1.path)).exitCode).toBe(0);
    // Same bytes, new mtime: the remembered hash no longer vouches for it.
    const later = new Date(Date.now() + 60_000);
    await utimes(v1.path, later, later);
    const before = bytesRead();
    const checked = await box.run(v1.path, { checkOnly: true });
    const read = bytesRead() - before;
    expect(checked.exitCode).toBe(0);
    expect(checked.apps[0]?.result).toBe("up_to_date");
    // Named by its version, as a real run names the installed release it finds.
    expect(checked.apps[0]?.message).toBe("myapp: up to date (1.0.0)");
    expect(read).toBeGreaterThan(v1.size);
    expect(read).toBeLessThan(v1.size * 1.5);
  });

  it("a newer archive with a checksum is read once, verified, and named (exit 100)", async () => {
    const v1 = await archive("v1", "1.0.0");
    expect((await box.run(v1.path)).exitCode).toBe(0);
    const v2 = await archive("v2", "2.0.0");
    const sha = execFileSync("sha256sum", [v2.path], { encoding: "utf8" }).slice(0, 64);
    const config = box.config(v2.path);
    const source = config.sources.myapp;
    if (source?.type !== "local") throw new Error("the sandbox's source is local");
    const before = bytesRead();
    const { runOnce } = await import("../../../agent/pipeline/index.js");
    const { memoryLogger } = await import("../../../shared/log.js");
    const checked = await runOnce(
      { ...config, sources: { myapp: { ...source, checksum: `sha256:${sha}` } } },
      { force: true, checkOnly: true, log: memoryLogger(), delayScale: 0 },
    );
    const read = bytesRead() - before;
    expect(checked.exitCode).toBe(100);
    expect(checked.apps[0]?.message).toContain(`update available 1.0.0 -> sha256:${sha.slice(0, 12)} from `);
    expect(read).toBeLessThan(v2.size * 1.5);
    // A wrong checksum is still refused by --check-only.
    const wrong = await runOnce(
      { ...config, sources: { myapp: { ...source, checksum: `sha256:${"ab".repeat(32)}` } } },
      { force: true, checkOnly: true, log: memoryLogger(), delayScale: 0 },
    );
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.exitCode).not.toBe(100);
    expect(wrong.apps[0]?.message).toMatch(/checksum mismatch/);
  });
});
