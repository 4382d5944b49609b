/** Test support for pipeline tests: release trees in temp dirs, a config for a local source, hashes. */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { type RunOptions, type RunSummary, runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import type { ManifestInput } from "../../../shared/manifest/schema.js";

export type LogLine = { level: string; msg: string; data?: Record<string, unknown> };

export interface Sandbox {
  root: string;
  appDir: string;
  stateFile: string;
  /** Writes release `name` (files + manifest) and returns its directory. */
  release(name: string, files: Record<string, string>, manifest?: ManifestInput): Promise<string>;
  config(releaseDir: string, extra?: { general?: Record<string, unknown> }): AgentConfig;
  run(releaseDir: string, options?: Partial<RunOptions>): Promise<RunSummary & { lines: LogLine[] }>;
  state(): Promise<{ last_run: string | null; sources: Record<string, Record<string, unknown>> }>;
  cleanup(): Promise<void>;
}

export async function createSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), "ship-pipeline-"));
  const appDir = join(root, "app");
  const stateFile = join(root, "var", ".ship_state.json");
  await mkdir(appDir, { recursive: true });
  const config = (releaseDir: string, extra: { general?: Record<string, unknown> } = {}): AgentConfig =>
    AgentConfig.parse({
      general: {
        state_file: stateFile,
        backup_dir: join(root, "var", "backups"),
        work_dir: join(root, "work"),
        ...extra.general,
      },
      sources: { myapp: { type: "local", app_dir: appDir, path: releaseDir } },
    });
  return {
    root,
    appDir,
    stateFile,
    async release(name, files, manifest) {
      const dir = join(root, "releases", name);
      await writeTree(dir, files);
      if (manifest !== undefined) await writeFile(join(dir, "update-manifest.yaml"), stringify(manifest));
      return dir;
    },
    config,
    async run(releaseDir, options = {}) {
      const lines: LogLine[] = [];
      const summary = await runOnce(config(releaseDir), {
        force: true,
        checkOnly: false,
        log: memoryLogger(lines),
        delayScale: 0,
        notifyRetryDelayMs: 0,
        notifyMaxTimeoutMs: 1000,
        ...options,
      });
      return { ...summary, lines };
    },
    async state() {
      return JSON.parse(await readFile(stateFile, "utf8"));
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
}

/** rel path → sha256 of every file under dir (directories listed as "dir/"), for byte-for-byte checks. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        out[`${child}/`] = "dir";
        await walk(child);
      } else {
        out[child] = createHash("sha256")
          .update(await readFile(join(dir, child)))
          .digest("hex");
      }
    }
  };
  await walk("");
  return out;
}

export { webhookReceiver } from "../../support/servers/webhook-receiver.js";
