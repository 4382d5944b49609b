/** A directory with an app dir and a ship.toml whose one source (`web`) is an http url (or any kind). */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface HttpApp {
  config: string;
  app: string;
}

/** `dir`/ship.toml and `dir`/app for an http source at `url`, with `sourceKeys` lines added to it. */
export async function httpApp(dir: string, url: string, sourceKeys = ""): Promise<HttpApp> {
  return sourceApp(dir, `type = "http"\nurl = "${url}"\n`, sourceKeys);
}

/** `dir`/ship.toml and `dir`/app for one source `web` whose own keys are `source`, then `extra`. */
export async function sourceApp(dir: string, source: string, extra = ""): Promise<HttpApp> {
  const app = join(dir, "app");
  await mkdir(app, { recursive: true });
  const config = join(dir, "ship.toml");
  await writeFile(
    config,
    `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n` +
      `[sources.web]\n${source}app_dir = "${app}"\n${extra}`,
  );
  return { config, app };
}
