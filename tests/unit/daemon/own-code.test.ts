/**
 * The agent's check for ship's own files replaced under it (an upgrade) looks at the modules only:
 * a timer run writes its V8 code cache beside them through a temporary file it renames, and a
 * temporary file seen at the agent's start and gone later made the agent exit 75 as if upgraded.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ownCodeCheck } from "../../../agent/daemon/own-code.js";

describe("ownCodeCheck", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-own-code-"));
    for (const file of ["ship.js", "merge-AB12.js", "quick-CD34.cjs", "quick-CD34.cjs.run.v8cache.77.tmp"])
      await writeFile(join(dir, file), "");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("ignores a code cache's temporary file that went away", async () => {
    const replaced = ownCodeCheck(dir);
    await rm(join(dir, "quick-CD34.cjs.run.v8cache.77.tmp"));
    await writeFile(join(dir, "quick-CD34.cjs.run.v8cache"), "");
    expect(await replaced()).toBeUndefined();
  });

  it("names a module an upgrade removed", async () => {
    const replaced = ownCodeCheck(dir);
    await rm(join(dir, "merge-AB12.js"));
    await writeFile(join(dir, "merge-EF56.js"), "");
    expect(await replaced()).toBe("merge-AB12.js");
  });
});
