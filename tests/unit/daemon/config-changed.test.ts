/**
 * `ship agent` exits 75 to be started again when ship.toml was edited, but only for an edit a start
 * takes. The check used to only parse the file: a `token_file` typo or the [hub] table commented
 * out parsed, the agent exited 75, and its next start exited 2, at every restart, the host off the
 * hub. Now such an edit is said, with the start's own line, and the agent goes on.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configChangeCheck } from "../../../agent/daemon/config-changed.js";
import { loadDaemonConfig } from "../../../agent/daemon/daemon-config.js";

describe("configChangeCheck with the daemon's start checks", () => {
  let dir: string;
  let file: string;
  const warned: string[] = [];
  beforeEach(async () => {
    warned.length = 0;
    dir = await mkdtemp(join(tmpdir(), "ship-config-changed-"));
    file = join(dir, "ship.toml");
    await writeFile(join(dir, "hub.token"), "not-a-jwt-but-a-token\n");
    await chmod(join(dir, "hub.token"), 0o600);
    await writeFile(
      file,
      `[general]
state_file = "${dir}/state/state.json"
backup_dir = "${dir}/backups"

[hub]
url = "http://127.0.0.1:9"
token_file = "${dir}/hub.token"
agent_id = "web-1"
labels = { ring = "early" }

[sources.myapp]
type = "hub"
app_dir = "${dir}/app"
`,
    );
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const check = () => configChangeCheck(file, (message) => warned.push(message), loadDaemonConfig);
  const edit = async (from: string | RegExp, to: string) =>
    writeFile(file, (await readFile(file, "utf8")).replace(from, to));

  it("takes an edit a start takes", async () => {
    const changed = await check();
    expect(await changed()).toBe(false);
    await edit('ring = "early"', 'ring = "late"');
    expect(await changed()).toBe(true);
    expect(warned).toEqual([]);
  });

  it("refuses, naming file, line and key, a token_file that is not there", async () => {
    const changed = await check();
    await edit("hub.token", "hub.tokn");
    expect(await changed()).toBe(false);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(
      new RegExp(
        `^${file} changed but cannot be used: ${file}:7:1 hub.token_file: .*hub\\.tokn.*going on with the config read at start$`,
      ),
    );
    // Said once, not every 5 s.
    expect(await changed()).toBe(false);
    expect(warned).toHaveLength(1);
  });

  it("refuses an edit that adds an app inside another app's directory", async () => {
    // Taken before: the running agent restarted into a config whose myapp releases replace plugin's files.
    const changed = await check();
    await edit(/$/, `\n[sources.plugin]\ntype = "hub"\napp_dir = "${dir}/app/plugin"\n`);
    expect(await changed()).toBe(false);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain(
      `sources.myapp.app_dir, sources.plugin.app_dir: ${dir}/app/plugin is inside ${dir}/app: myapp's releases`,
    );
    expect(warned[0]).toMatch(/going on with the config read at start$/);
  });

  it("refuses an edit that comments the [hub] table out", async () => {
    const changed = await check();
    await edit(/^\[hub\]\n(.*\n){4}/m, "");
    expect(await changed()).toBe(false);
    expect(warned[0]).toContain("`ship agent` needs a [hub] table");
  });
});
