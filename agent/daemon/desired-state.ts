/**
 * What the hub last asked this agent to run, per app, kept on disk (atomic JSON) before the agent
 * acts on it. A restarted agent, or one whose hub is away, carries out an unfinished instruction
 * from here; a finished one is remembered with its report so a repeated instruction only re-sends
 * that report.
 */

import * as z from "zod";
import { BadInputError } from "../../shared/errors.js";
import { Deploy, Report } from "../../shared/protocol/messages.js";
import { formatPath } from "../../shared/schema/one-line.js";
import { requestProblems } from "../../shared/schema/zod-problems.js";
import { readRecordText } from "../state/record-file.js";
import { writeFileAtomic } from "../state/state-file.js";

const Finished = z.object({
  deploymentId: z.string(),
  finishedAt: z.string(),
  report: Report,
});
export type FinishedInstruction = z.infer<typeof Finished>;

const AppDesired = z.object({
  instruction: Deploy,
  receivedAt: z.string(),
  /** Times the agent started carrying it out; a restart after a crash counts again. */
  attempts: z.number().int().nonnegative().default(0),
  /** Set once its report is in the outbox. */
  finished: Finished.optional(),
});
export type AppDesired = z.infer<typeof AppDesired>;

const DesiredFile = z.object({
  apps: z.record(z.string(), AppDesired).default({}),
  /** Recent finished instructions by deployment id (bounded), so an old id re-sent by the hub is a no-op. */
  history: z.array(Finished).default([]),
  /**
   * Per app, the hub release id of each version the hub installed here (newest last, bounded), so
   * the agent can tell the hub which release it runs after a local rollback or restore too.
   */
  installed: z.record(z.string(), z.record(z.string(), z.string())).default({}),
});
type DesiredFile = z.infer<typeof DesiredFile>;

/**
 * What an operator can do about a damaged file. It is refused, not dropped (it holds the
 * instruction in hand and its attempt count), but nothing in it is the only copy: the hub sends
 * unfinished instructions again at the next hello, unacked reports wait in the outbox, and the
 * app's files were recovered from its journal before this file was read.
 */
function wayOut(file: string): string {
  return `move it aside (mv ${file} ${file}.corrupt) and start ship agent again: the hub sends its unfinished instructions again`;
}

const HISTORY_LIMIT = 200;
const INSTALLED_LIMIT = 50;

export class DesiredStateStore {
  private cache: DesiredFile | undefined;
  /** Writes are serialized: two instructions arriving together must not lose one another. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  async get(app: string): Promise<AppDesired | undefined> {
    return (await this.load()).apps[app];
  }

  async all(): Promise<Record<string, AppDesired>> {
    return (await this.load()).apps;
  }

  /** Per app, version → hub release id (see `installed`). */
  async installedReleases(): Promise<Record<string, Record<string, string>>> {
    return (await this.load()).installed;
  }

  /** The finished record of this deployment id, for any app, if the agent still remembers it. */
  async finished(deploymentId: string): Promise<FinishedInstruction | undefined> {
    const data = await this.load();
    for (const desired of Object.values(data.apps))
      if (desired.finished?.deploymentId === deploymentId) return desired.finished;
    return data.history.find((f) => f.deploymentId === deploymentId);
  }

  /** The hub release id of `version` of `app`, if the hub installed that version here. */
  async installedRelease(app: string, version: string | null): Promise<string | undefined> {
    if (version === null) return undefined;
    return (await this.load()).installed[app]?.[version];
  }

  /** Remembers that the hub's release `releaseId` put `version` of `app` here. */
  rememberInstalled(app: string, version: string, releaseId: string): Promise<void> {
    return this.change((data) => {
      const known = Object.entries(data.installed[app] ?? {}).filter(([v]) => v !== version);
      data.installed[app] = Object.fromEntries([...known, [version, releaseId]].slice(-INSTALLED_LIMIT));
    });
  }

  /**
   * Records a new instruction for its app, replacing whatever the app was asked before. The same id
   * unfinished keeps its record (and attempt count); finished, it is put only when sent again after
   * the agent declined it (declined-instruction.ts), and starts afresh.
   */
  put(instruction: Deploy, now: Date): Promise<void> {
    return this.change((data) => {
      const previous = data.apps[instruction.app];
      if (previous?.instruction.deploymentId === instruction.deploymentId && previous.finished === undefined)
        return;
      data.apps[instruction.app] = {
        instruction,
        receivedAt: now.toISOString(),
        attempts: 0,
      };
    });
  }

  /** Counts one more attempt and returns the new count, written before the attempt starts. */
  async startAttempt(app: string, deploymentId: string): Promise<number> {
    let attempts = 0;
    await this.change((data) => {
      const desired = data.apps[app];
      if (desired?.instruction.deploymentId !== deploymentId) return;
      desired.attempts += 1;
      attempts = desired.attempts;
    });
    return attempts;
  }

  /** Takes back an attempt that did not start (the app was locked by another run). */
  abandonAttempt(app: string, deploymentId: string): Promise<void> {
    return this.change((data) => {
      const desired = data.apps[app];
      if (desired?.instruction.deploymentId === deploymentId && desired.attempts > 0) desired.attempts -= 1;
    });
  }

  markFinished(app: string, deploymentId: string, report: Report, now: Date): Promise<void> {
    return this.change((data) => {
      const desired = data.apps[app];
      const record = { deploymentId, finishedAt: now.toISOString(), report };
      if (desired?.instruction.deploymentId === deploymentId) desired.finished = record;
      data.history = [record, ...data.history.filter((f) => f.deploymentId !== deploymentId)].slice(
        0,
        HISTORY_LIMIT,
      );
    });
  }

  private change(edit: (data: DesiredFile) => void): Promise<void> {
    const next = this.queue.then(async () => {
      const data = structuredClone(await this.load());
      edit(data);
      // Mode 600: the hub's releases carry manifests, whose notifications hold webhook URLs and headers.
      await writeFileAtomic(this.file, `${JSON.stringify(data, null, 1)}\n`, 0o600);
      this.cache = data;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async load(): Promise<DesiredFile> {
    if (this.cache !== undefined) return this.cache;
    let text: string;
    try {
      text = await readRecordText(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      this.cache = DesiredFile.parse({});
      return this.cache;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw BadInputError.single(
        this.file,
        "",
        `is not valid JSON: ${(error as Error).message}; ${wayOut(this.file)}`,
      );
    }
    // In our words (the API's and the protocol's), never zod's raw "Invalid input".
    const parsed = requestProblems(DesiredFile, json);
    if (parsed.problems !== undefined) {
      const problem = parsed.problems[0];
      throw BadInputError.single(
        this.file,
        problem ? formatPath("", problem.path).replace(/^\./, "") : "",
        `${problem?.message ?? "invalid"}; ${wayOut(this.file)}`,
      );
    }
    this.cache = parsed.value;
    return this.cache;
  }
}
