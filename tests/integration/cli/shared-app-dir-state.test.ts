/**
 * Two sources filling one app_dir, run one at a time with `--sources`: alpha a local directory,
 * beta an http archive behind a real server that answers 304 to its ETag. Whatever one of them
 * installs or rolls back, every source's state names what is on disk, and beta's record of its
 * archive (the ETag) never answers "up to date" for a release the other replaced. Real `ship` runs.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileRoute } from "../../support/servers/file-routes.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";
import { type LocalApp, localApp } from "./local-app.js";

const routes = new Map<string, FileRoute>();
const server = fileServerForFile(routes);
let app: LocalApp;

beforeAll(async () => {
  app = await localApp();
  routes.set("/beta.tar.gz", { body: gzipSync(appRelease("5.0.0")), etag: '"beta-5"' });
});
afterAll(() => app.cleanup());

async function alphaAt(release: string, version: string): Promise<void> {
  await app.release(release, `version: "${version}"\n`, { "a.txt": `${release}\n` });
  await writeFile(
    app.config,
    `[general]\nstate_file = "${app.stateFile}"\nbackup_dir = "${app.root}/var/backups"\nmin_interval_hours = 0\n\n` +
      `[sources.alpha]\ntype = "local"\npath = "${join(app.root, release)}"\napp_dir = "${app.appDir}"\n\n` +
      `[sources.beta]\ntype = "http"\nurl = "${server.url}/beta.tar.gz"\napp_dir = "${app.appDir}"\n`,
  );
}

const ship = (...args: string[]) => runShip(["--config", app.config, ...args]);
const current = async () =>
  Object.fromEntries(Object.entries((await app.state()).sources).map(([n, s]) => [n, s.current_version]));

describe("two sources filling one app_dir: the state and the checks follow what is on disk (real CLI, real http server)", () => {
  it("an install, an install over it and a rollback across both", async () => {
    await alphaAt("a1", "1.0.0");
    expect((await ship("--sources", "alpha")).code).toBe(0);

    // beta's first run replaces alpha's 1.0.0: it said "installed 5.0.0 (the install index is gone;
    // ship installed 1.0.0 here last)" of an index that was there.
    const beta = await ship("--sources", "beta");
    expect(beta.code, beta.stderr).toBe(0);
    expect(beta.stdout).toBe("beta: updated 1.0.0 → 5.0.0\n");
    expect(await current()).toEqual({ alpha: "5.0.0", beta: "5.0.0" });
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("app 5.0.0\n");

    // alpha's 2.0.0 replaces beta's 5.0.0 (older: asked for). beta's state named 5.0.0 beside
    // alpha's files, and its ETag answered 304: "up to date (5.0.0)", exit 0, for ever.
    await alphaAt("a2", "2.0.0");
    const alpha = await ship("--sources", "alpha", "--allow-downgrade");
    expect(alpha.code, alpha.stderr).toBe(0);
    expect(await current()).toEqual({ alpha: "2.0.0", beta: "2.0.0" });
    const check = await ship("--sources", "beta", "--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toMatch(/^update +beta: update available at /m);

    // A rollback by alpha across beta's update to the tree beta found: beta's state follows it too.
    const list = JSON.parse((await ship("--list-backups", "--json")).stdout) as {
      id: string;
      version: string | null;
    }[];
    const toV1 = list.find((b) => b.version === "1.0.0");
    const back = await ship("--rollback", toV1?.id ?? "");
    expect(back.code, back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "a.txt"), "utf8")).toBe("a1\n");
    expect(await current()).toEqual({ alpha: "1.0.0", beta: "1.0.0" });
    const again = await ship("--sources", "beta");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("beta: updated 1.0.0 → 5.0.0\n");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("app 5.0.0\n");
  });
});
