/** A directory with an app dir and a ship.toml whose one source (`web`) is an http url. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface HttpApp {
  config: string;
  app: string;
}

/** `dir`/ship.toml and `dir`/app for an http source at `url`, with `sourceKeys` lines added to it. */
export async function httpApp(dir: string, url: string, sourceKeys = ""): Promise<HttpApp> {
  const app = join(dir, "app");
  await mkdir(app, { recursive: true });
  const config = join(dir, "ship.toml");
  await writeFile(
    config,
    `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n` +
      `[sources.web]\ntype = "http"\nurl = "${url}"\napp_dir = "${app}"\n${sourceKeys}`,
  );
  return { config, app };
}
