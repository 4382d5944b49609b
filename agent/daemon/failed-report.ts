import { randomUUID } from "node:crypto";
import type { Deploy, Report } from "../../shared/protocol/messages.js";

/**
 * What every report of an instruction starts with: a new report id, the instruction it answers,
 * and the instruction's `attempt` echoed, which tells the hub this answer is to this sending of it
 * (messages.ts, instructionAttempt).
 */
export function instructionReport(instruction: Deploy) {
  return {
    type: "report" as const,
    v: 1 as const,
    reportId: randomUUID(),
    deploymentId: instruction.deploymentId,
    app: instruction.app,
    releaseId: instruction.release.id,
    ...(instruction.attempt === undefined ? {} : { attempt: instruction.attempt }),
  };
}

/** The report of an instruction the pipeline never ran to its end (refused, given up, crashed). */
export function failedReport(instruction: Deploy, installed: string | null, error: string): Report {
  return {
    ...instructionReport(instruction),
    outcome: "failed",
    fromVersion: installed,
    toVersion: instruction.release.version,
    error,
    steps: [],
  };
}
