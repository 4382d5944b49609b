/** An app with a history: real `ship` runs install each version in turn. */
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

/** Each version's files when a test names only `app.txt` ("v1\n"). */
export const appTxtOnly = (v: string): Record<string, string> => ({ "app.txt": `v${v}\n` });

/**
 * Installs `${v}.0.0` for each v in turn, with the files `files(v)` gives: by default `app.txt`
 * ("v1\n") and a file of its own (`f1.txt`).
 */
export async function installVersions(
  app: LocalApp,
  versions: readonly string[],
  files: (v: string) => Record<string, string> = (v) => ({ "app.txt": `v${v}\n`, [`f${v}.txt`]: `${v}\n` }),
): Promise<void> {
  for (const v of versions) {
    await app.release(`r${v}`, `version: "${v}.0.0"\n`, files(v));
    const run = await runShip(["--config", app.config]);
    if (run.code !== 0) throw new Error(`installing ${v}.0.0 failed: ${run.stdout}${run.stderr}`);
  }
}

/**
 * For the calling file: an app with `versions` installed by real runs (installVersions), made once
 * in its beforeAll and put back as made before each test (builtOnceRestoredEachTest: the same paths,
 * backup ids, modes and times) instead of made again by two or three `ship` updates per test.
 * `made` receives the app once it is made; `extra` adds what every test starts from (a release not
 * installed yet). The copy put back is another directory with the same contents: a file whose tests
 * need app_dir to be the directory the backups were made from (its dev:ino, as a backup records it:
 * rollback-app-dir-moved) makes its app in each test instead.
 */
export function installedVersionsForFile(
  versions: readonly string[],
  made: (app: LocalApp) => void,
  options: { files?: (v: string) => Record<string, string>; extra?: (app: LocalApp) => Promise<void> } = {},
): void {
  builtOnceRestoredEachTest(async () => {
    const app = await localApp();
    await installVersions(app, versions, options.files);
    await options.extra?.(app);
    made(app);
    return app.root;
  });
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
