/** An app with a history: real `ship` runs install each version in turn. */
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";

/** Installs `${v}.0.0` for each v in turn: `app.txt` ("v1\n") and a file of its own (`f1.txt`). */
export async function installVersions(app: LocalApp, versions: readonly string[]): Promise<void> {
  for (const v of versions) {
    await app.release(`r${v}`, `version: "${v}.0.0"\n`, { "app.txt": `v${v}\n`, [`f${v}.txt`]: `${v}\n` });
    const run = await runShip(["--config", app.config]);
    if (run.code !== 0) throw new Error(`installing ${v}.0.0 failed: ${run.stdout}${run.stderr}`);
  }
}

/** A backup as `ship --list-backups --json` lists it (the fields these tests read). */
export interface ListedBackup {
  id: string;
  path: string;
  version: string | null;
}

/** The app's backups as `ship --list-backups --json` prints them, newest first. */
export async function listedBackups(app: LocalApp): Promise<ListedBackup[]> {
  return JSON.parse((await runShip(["--config", app.config, "--list-backups", "--json"])).stdout);
}
