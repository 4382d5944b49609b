/** A local app whose app_dir is a real tmpfs of its own (its files copied across filesystems), per test. */
import { mkdir } from "node:fs/promises";
import { afterEach, beforeEach } from "vitest";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

/** Registers the mount before and the unmount after each test; `mounted` is false where it cannot. */
export function tmpfsAppEachTest(size: string): { app: () => LocalApp; mounted: () => boolean } {
  let app: LocalApp | undefined;
  let mounted = false;
  beforeEach(async () => {
    app = await localApp();
    await mkdir(app.appDir, { recursive: true });
    mounted = mountTmpfs(app.appDir, size);
  });
  afterEach(async () => {
    if (mounted && app !== undefined) unmountTmpfs(app.appDir);
    await app?.cleanup();
  });
  return {
    app: () => {
      if (app === undefined) throw new Error("tmpfsAppEachTest: no test is running");
      return app;
    },
    mounted: () => mounted,
  };
}
