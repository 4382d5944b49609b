import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, hashTree, type Sandbox } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

/**
 * A release with nothing in it (the release volume not mounted yet, an upload not begun, a tarball
 * packed from the wrong directory) installed as "every file dropped": the app was emptied, exit 0,
 * "updated 1.0.0 → tree:e3b0c442…". It is refused before anything runs, whatever the source.
 */
describe("an empty release", () => {
  async function installV1(): Promise<Record<string, string>> {
    const v1 = await box.release(
      "v1",
      { "app.py": "print('v1')\n", "conf/app.toml": "a = 1\n" },
      {
        version: "1.0.0",
      },
    );
    expect((await box.run(v1)).exitCode).toBe(0);
    return hashTree(box.appDir);
  }

  it("as an empty directory is refused, exit 2, the app untouched", async () => {
    const before = await installV1();
    const empty = join(box.root, "releases", "unmounted");
    await mkdir(empty, { recursive: true });
    const result = await box.run(empty);
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain(`${empty} holds no files`);
    expect(await hashTree(box.appDir)).toEqual(before);
    const state = await box.state();
    expect(Object.values(state.sources)).toMatchObject([{ current_version: "1.0.0" }]);
  });

  it("as an archive of empty directories only (packed from the wrong one) is refused the same way", async () => {
    const before = await installV1();
    const packed = join(box.root, "packed");
    await mkdir(join(packed, "myapp-1.2.3", "src"), { recursive: true });
    const archive = join(box.root, "releases", "dirs-only.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", packed, "myapp-1.2.3"]);
    const result = await box.run(archive);
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain("holds no files and no update-manifest.yaml (only empty directories)");
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  // (refused already as no archive at all: tar's end blocks alone are not one)
  it("as an archive with no entries is refused too", async () => {
    const before = await installV1();
    const archive = join(box.root, "releases", "empty.tar.gz");
    execFileSync("tar", ["-czf", archive, "-T", "/dev/null"]);
    const result = await box.run(archive);
    expect(result.exitCode).toBe(2);
    expect(await hashTree(box.appDir)).toEqual(before);
  });
});
