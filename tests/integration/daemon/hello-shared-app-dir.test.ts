/**
 * The hub's view of an app whose app_dir a disabled source fills too (an air-gapped `offline` source
 * run once by hand with `ship --sources offline`): the hello announced the hub app's own last
 * install, which the offline release had replaced. It announces what is on disk.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHello } from "../../../agent/daemon/hello.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-hello-shared-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function release(version: string): Promise<string> {
  const dir = join(root, "releases", version);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
  await writeFile(join(dir, "app.txt"), `${version}\n`);
  return dir;
}

describe("hello with a disabled source filling the hub app's app_dir", () => {
  it("announces the version on disk, whichever source installed it", async () => {
    await mkdir(join(root, "app"));
    const appDir = join(root, "app");
    const config = AgentConfig.parse({
      general: { state_file: join(root, "state.json"), backup_dir: join(root, "backups") },
      sources: {
        web: { type: "local", app_dir: appDir, path: await release("1.0.0") },
        offline: { type: "local", app_dir: appDir, path: await release("3.0.0"), enabled: false },
      },
    });
    for (const sources of [["web"], ["offline"]]) {
      const run = await runOnce(config, { force: true, checkOnly: false, log: memoryLogger(), sources });
      expect(run.exitCode).toBe(0);
    }
    const hello = await buildHello(config, "agent-1", {});
    expect(hello.apps).toMatchObject([{ app: "web", version: "3.0.0" }]);
  }, 60_000);
});
