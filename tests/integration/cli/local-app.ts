/** A temp directory with a ship.toml whose one source (`myapp`) installs a local release directory. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, expect } from "vitest";
import { type CliResult, runShip } from "../../support/ship-cli.js";

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

/**
 * The merge tests' story: release v1 installed, the operator's `edited` copies written over the
 * app's, then an update to v2 (versions 1.0.0 and 2.0.0). The update's result and a reader of the
 * app's files.
 */
export async function updateOverEdits(
  app: LocalApp,
  manifest: (version: string) => string,
  files: { v1: Record<string, string>; edited: Record<string, string>; v2: Record<string, string> },
): Promise<{ run: CliResult; read: (name: string) => Promise<string> }> {
  await installRelease(app, "v1", manifest("1.0.0"), files.v1);
  return updateOverEditsFromV1(app, manifest, files);
}

/** Writes release `name` and installs it: the run must succeed. */
export async function installRelease(
  app: LocalApp,
  name: string,
  manifestYaml: string,
  files: Record<string, string>,
): Promise<void> {
  await app.release(name, manifestYaml, files);
  const run = await runShip(["--config", app.config]);
  expect(run.code, run.stderr).toBe(0);
}

/** updateOverEdits from v1 already installed (by installRelease, or a copy of such an app). */
export async function updateOverEditsFromV1(
  app: LocalApp,
  manifest: (version: string) => string,
  files: { edited: Record<string, string>; v2: Record<string, string> },
): Promise<{ run: CliResult; read: (name: string) => Promise<string> }> {
  for (const [name, text] of Object.entries(files.edited)) await writeFile(join(app.appDir, name), text);
  await app.release("v2", manifest("2.0.0"), files.v2);
  const run = await runShip(["--config", app.config]);
  expect(run.code, run.stderr).toBe(0);
  return { run, read: (name) => readFile(join(app.appDir, name), "utf8") };
}

/** One config under a merge rule through the merge tests' story (updateOverEdits). */
export interface MergedFileStory {
  action: string;
  file: string;
  v1: string;
  v2: string;
}

/**
 * updateOverEdits for one config whose rule is `action` in both releases: v1, the operator's copy
 * `edited` (none: left as installed), then v2.
 */
export function updateMergedFile(
  app: LocalApp,
  { action, file, v1, v2 }: MergedFileStory,
  edited?: string,
): ReturnType<typeof updateOverEdits> {
  const manifest = (version: string) => `version: "${version}"\nfiles:\n  "${file}": { action: ${action} }\n`;
  return updateOverEdits(app, manifest, {
    v1: { [file]: v1 },
    edited: edited === undefined ? {} : { [file]: edited },
    v2: { [file]: v2 },
  });
}

/** A MergedFileStory with the operator's copy written between the releases (none: left as installed). */
export interface EditedFileStory extends MergedFileStory {
  edited?: string;
}

/** What one update of many stories left: the app, the run, and story i's file as the run names it and as merged. */
export interface MergedFiles {
  app: LocalApp;
  run: CliResult;
  path: (i: number) => string;
  read: (i: number) => Promise<string>;
}

/**
 * updateMergedFile for many stories in one app, made by the calling block's first test to ask and
 * read by the others: each story's file in a directory of its own (`s<i>/<file>`, its rule naming
 * that path), one install of every v1, the operators' copies written, one update to every v2. A
 * merge reads and writes its own file only, so each file ends as it would in an app of its own;
 * the block costs two `ship` starts, where an app per test cost two per test (most of such a
 * file's time). The app is removed after the block.
 */
export function updateMergedFilesOnce(stories: readonly EditedFileStory[]): () => Promise<MergedFiles> {
  let app: LocalApp | undefined;
  let made: Promise<MergedFiles> | undefined;
  afterAll(async () => {
    await app?.cleanup();
  });
  const path = (i: number) => `s${i}/${stories[i]?.file}`;
  const files = (text: (story: EditedFileStory) => string | undefined) =>
    Object.fromEntries(
      stories.flatMap((story, i) => {
        const written = text(story);
        return written === undefined ? [] : [[path(i), written]];
      }),
    );
  const manifest = (version: string) =>
    `version: "${version}"\nfiles:\n${stories.map(({ action }, i) => `  "${path(i)}": { action: ${action} }\n`).join("")}`;
  const update = async (): Promise<MergedFiles> => {
    const made = await localApp();
    app = made;
    const { run, read } = await updateOverEdits(made, manifest, {
      v1: files((story) => story.v1),
      edited: files((story) => story.edited),
      v2: files((story) => story.v2),
    });
    return { app: made, run, path, read: (i) => read(path(i)) };
  };
  return () => {
    made ??= update();
    return made;
  };
}

/**
 * Gives the app's ship.toml (as its last `release` wrote it) a `[general.logging]` table at `level`
 * with a log file in the app's temp dir; resolves to a reader of that file's JSON lines (none when
 * the run wrote no file).
 */
export async function logAt(
  app: LocalApp,
  level: string,
): Promise<() => Promise<{ level: number; msg: string; notification?: string }[]>> {
  const logFile = join(app.root, "ship.log");
  const config = await readFile(app.config, "utf8");
  await writeFile(
    app.config,
    config.replace(
      "[sources.myapp]",
      `[general.logging]\nlevel = "${level}"\nfile = "${logFile}"\n\n[sources.myapp]`,
    ),
  );
  return async () =>
    (await readFile(logFile, "utf8").catch(() => ""))
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line));
}
