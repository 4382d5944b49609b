/** A temp directory with a ship.toml whose one source (`myapp`) installs a local release directory. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface LocalApp {
  root: string;
  config: string;
  appDir: string;
  stateFile: string;
  /** Writes release `name` (update-manifest.yaml + files) and points the source at it. */
  release(name: string, manifestYaml: string, files?: Record<string, string>): Promise<string>;
  state(): Promise<{ sources: Record<string, Record<string, unknown>> } & Record<string, unknown>>;
  cleanup(): Promise<void>;
}

export async function localApp(configExtra = ""): Promise<LocalApp> {
  const root = await mkdtemp(join(tmpdir(), "ship-cli-"));
  const config = join(root, "ship.toml");
  const appDir = join(root, "app");
  const stateFile = join(root, "var/state.json");
  await mkdir(appDir);
  return {
    root,
    config,
    appDir,
    stateFile,
    async release(name, manifestYaml, files = { "app.txt": `${name}\n` }) {
      const dir = join(root, name);
      for (const [rel, text] of Object.entries({ "update-manifest.yaml": manifestYaml, ...files })) {
        await mkdir(dirname(join(dir, rel)), { recursive: true });
        await writeFile(join(dir, rel), text);
      }
      await writeFile(
        config,
        `[general]\nstate_file = "${stateFile}"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${appDir}"\n${configExtra}`,
      );
      return dir;
    },
    async state() {
      return JSON.parse(await readFile(stateFile, "utf8"));
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
