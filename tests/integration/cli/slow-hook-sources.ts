/**
 * A ship.toml in `root` with two local sources, `first` and `second`, each updating its app from
 * v1 to 2.0.0 through a hook that says it started (`hook-started-NAME`), waits until the test
 * writes `go` in `root` (60 s at most), then says it finished (`hook-done-NAME`): what the
 * stop-signal tests interrupt. A fixed `sleep 2` was the window for the test's signal, which a
 * loaded CI machine can miss. Returns the config's path.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export async function slowHookSources(
  root: string,
  { hook, general = "" }: { hook: "pre_update" | "post_update"; general?: string },
): Promise<string> {
  const config = join(root, "ship.toml");
  let toml = `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n${general}`;
  for (const name of ["first", "second"]) {
    const release = join(root, `release-${name}`);
    await mkdir(release, { recursive: true });
    await mkdir(join(root, `app-${name}`));
    await writeFile(join(root, `app-${name}`, "app.txt"), "v1\n");
    const command = `touch ${root}/hook-started-${name}; for i in $(seq 1200); do [ -e ${root}/go ] && break; sleep 0.05; done; touch ${root}/hook-done-${name}`;
    await writeFile(
      join(release, "update-manifest.yaml"),
      `version: "2.0.0"\nhooks:\n  ${hook}:\n    - command: "${command}"\n`,
    );
    await writeFile(join(release, "app.txt"), "v2\n");
    toml += `\n[sources.${name}]\ntype = "local"\npath = "${release}"\napp_dir = "${root}/app-${name}"\n`;
  }
  await writeFile(config, toml);
  return config;
}

/** Lets the hooks of slowHookSources(`root`) end. */
export const letHooksEnd = (root: string) => writeFile(join(root, "go"), "");
