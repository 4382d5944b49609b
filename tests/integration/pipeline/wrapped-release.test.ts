import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, hashTree, type Sandbox, writeTree } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

/**
 * A release without a manifest packed with its top directory (`tar -czf myapp-2.0.0.tar.gz
 * myapp-2.0.0`, GitHub's archive of a tag, a local `path` naming the directory above the release)
 * installed as "every file ship installed dropped, myapp-2.0.0/ added": the app's code and its
 * merged configs went into the backup, the new files landed one level down, exit 0 "updated".
 */
describe("a release without a manifest whose root is one directory the app does not have", () => {
  async function installV1(): Promise<Record<string, string>> {
    const v1 = await box.release("v1", { "app.py": "print('v1')\n", "conf/app.toml": "a = 1\n" });
    expect((await box.run(v1)).exitCode).toBe(0);
    return hashTree(box.appDir);
  }

  async function wrapped(top: string): Promise<string> {
    const packed = join(box.root, "packed");
    await writeTree(join(packed, top), { "app.py": "print('v2')\n", "conf/app.toml": "a = 2\n" });
    return packed;
  }

  it("as a .tar.gz is refused, exit 2, naming the directory; the app untouched", async () => {
    const before = await installV1();
    const packed = await wrapped("myapp-2.0.0");
    const archive = join(box.root, "releases", "myapp-2.0.0.tar.gz");
    await mkdir(join(box.root, "releases"), { recursive: true });
    execFileSync("tar", ["-czf", archive, "-C", packed, "myapp-2.0.0"]);
    const result = await box.run(archive);
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain("holds only the directory myapp-2.0.0/");
    expect(result.message).toContain("nothing was installed");
    expect(await hashTree(box.appDir)).toEqual(before);
    const state = await box.state();
    expect(Object.values(state.sources)[0]?.current_version).not.toContain("2.0.0");
  });

  it("as a local directory (the one above the release) is refused the same way, also by --check-only", async () => {
    const before = await installV1();
    const packed = await wrapped("myapp-2.0.0");
    const check = await box.run(packed, { checkOnly: true });
    expect(check.exitCode).toBe(2);
    expect(check.message).toContain("holds only the directory myapp-2.0.0/");
    const result = await box.run(packed);
    expect(result.exitCode).toBe(2);
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  it("is installed when the app's files are in that directory (a release that is one directory)", async () => {
    const v1 = await box.release("site-v1", { "public/index.html": "v1\n" });
    expect((await box.run(v1)).exitCode).toBe(0);
    const v2 = await box.release("site-v2", { "public/index.html": "v2\n", "public/new.css": "x\n" });
    const result = await box.run(v2);
    expect(result.exitCode).toBe(0);
    expect(Object.keys(await hashTree(box.appDir)).sort()).toEqual([
      "public/",
      "public/index.html",
      "public/new.css",
    ]);
  });
});
