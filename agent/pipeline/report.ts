/** What one app's run produced, for the CLI, the hub and the state file. */
import type { ExitCode } from "../../shared/errors.js";
import type { MergeReport } from "../../shared/protocol/messages.js";
import type { RunResult } from "../state/state-file.js";

export interface StepTiming {
  step: string;
  durationMs: number;
  ok: boolean;
}

/** An interrupted update the run's recover-first step undid: `from` its version, `to` the one put back. */
export interface RecoveredFirst {
  from: string;
  /** null: nothing ship installed was there before it (a first install undone). */
  to: string | null;
}

export interface AppReport {
  source: string;
  appDir: string;
  result: RunResult | "update_available";
  exitCode: ExitCode;
  fromVersion: string | null;
  toVersion: string | null;
  releaseId: string | null;
  /** One line for the operator. */
  message: string;
  /** Why it failed, when it did (state file `last_error`, notification `{error}`). */
  error: string | null;
  /**
   * The step's own reason for a failure, where `message` goes on to say what became of the app
   * ("restored the previous version", "the app's files were not changed") before the notes `error`
   * also carries (rollback commands that failed): the notification's {error} starts there.
   */
  failureReason?: string;
  manualSteps: string[];
  warnings: string[];
  steps: StepTiming[];
  /**
   * The run recovered first (a killed update's files put back) before what `result` says: a
   * refusal or "up to date" after it must not read as if nothing had moved.
   */
  recovered?: RecoveredFirst;
  /**
   * The run first finished a restore or rollback a kill had cut short (no update of its own behind
   * it), e.g. "finished the interrupted rollback to 1.0.0": its outcome comes after that.
   */
  finishedFirst?: string;
  /** Key reports of the config files the apply merged (empty when the apply did not run). */
  merges: MergeReport[];
  /**
   * Nothing was changed and the caller tries this again later (the daemon, a release server away):
   * not this attempt's to record or notify, or the state file and on_failure said "failed" of an
   * update that then succeeded, and said it again at each retry.
   */
  retriedLater?: true;
  /** Why the outcome could not be written to the state file, when it could not (a full disk). */
  stateNotRecorded?: string;
}

/** Worst first: a person-needed failure outranks a restored one, which outranks bad input, etc. */
const SEVERITY: readonly ExitCode[] = [3, 1, 2, 75, 100, 0];

export function combinedExitCode(codes: readonly ExitCode[]): ExitCode {
  for (const code of SEVERITY) if (codes.includes(code)) return code;
  return 0;
}

/** `app: text`, without doubling the prefix when the text already names the app that way. */
export function appMessage(app: string, text: string): string {
  return text.startsWith(`${app}: `) ? text : `${app}: ${text}`;
}
