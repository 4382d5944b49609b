import { randomUUID } from "node:crypto";
import type { Deploy, Report } from "../../shared/protocol/messages.js";

/** The report of an instruction the pipeline never ran to its end (refused, given up, crashed). */
export function failedReport(instruction: Deploy, installed: string | null, error: string): Report {
  return {
    type: "report",
    v: 1,
    reportId: randomUUID(),
    deploymentId: instruction.deploymentId,
    app: instruction.app,
    releaseId: instruction.release.id,
    outcome: "failed",
    fromVersion: installed,
    toVersion: instruction.release.version,
    error,
    steps: [],
  };
}
