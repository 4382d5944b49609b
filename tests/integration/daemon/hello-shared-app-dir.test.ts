/**
 * The hub's view of an app whose app_dir a disabled source fills too (an air-gapped `offline` source
 * run once by hand with `ship --sources offline`): the hello announced the hub app's own last
 * install, which the offline release had replaced. It announces what is on disk.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHello } from "../../../agent/daemon/hello.js";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;
beforeAll(async () => {
  app = await localApp();
});
afterAll(() => app.cleanup());

describe("hello with a disabled source filling the hub app's app_dir", () => {
  it("announces the version on disk, whichever source installed it", async () => {
    const config = AgentConfig.parse({
      general: { state_file: app.stateFile, backup_dir: join(app.root, "var/backups") },
      sources: {
        web: { type: "local", app_dir: app.appDir, path: await app.release("r1", 'version: "1.0.0"\n') },
        offline: {
          type: "local",
          app_dir: app.appDir,
          path: await app.release("r3", 'version: "3.0.0"\n'),
          enabled: false,
        },
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
