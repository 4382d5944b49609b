/**
 * A ship.toml in `root` with two local sources, `first` and `second`, each updating its app from
 * v1 to 2.0.0 through a hook that says it started (`hook-started-NAME`), takes 2 s, then says it
 * finished (`hook-done-NAME`): what the stop-signal tests interrupt. Returns the config's path.
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
    const command = `touch ${root}/hook-started-${name}; sleep 2; touch ${root}/hook-done-${name}`;
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
