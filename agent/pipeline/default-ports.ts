/** The production wiring of the pipeline's ports to the agent's modules. */

import { saidObservation } from "../../shared/conditions/evaluate.js";
import type { Trust } from "../../shared/config/schema.js";
import { loadManifestFile } from "../../shared/manifest/load.js";
import { type Conditional, installUmask, type Requirements } from "../../shared/manifest/schema.js";
import {
  applyUpdate,
  checkImmutable,
  checkMergeInputs,
  checkPathTypes,
  describeRelease,
  keepNewestBackups,
  listBackups,
  recoverApp,
  restoreBackup,
} from "../apply/index.js";
import { unrestoredDir } from "../backup/unrestored.js";
import { evaluateConditionals as evaluateHostConditionals } from "../conditions/evaluate-conditionals.js";
import { hostConditionContext, type RanCommand, releaseScriptNotes } from "../conditions/host-context.js";
import { checkRequirements as checkHostRequirements } from "../requirements/check.js";
import { createSource } from "../sources/create.js";
import { listedRelease } from "../tree/release-tree.js";
import type {
  ConditionalsInput,
  ConditionalsVerdict,
  PipelinePorts,
  RequirementsVerdict,
  UpdateEngine,
} from "./ports.js";
import { requiresSignatures, SignatureCheckingSource } from "./signed-source.js";

const engine: UpdateEngine = {
  async recover({ stateDir, log }) {
    const result = await recoverApp({ stateDir, log });
    if (result.action !== "none") log.warn(result.message, { action: result.action });
    return {
      detail: result.message,
      action: result.action,
      ...(result.backupPath === undefined ? {} : { backupPath: result.backupPath }),
    };
  },
  async apply(input) {
    const umask = installUmask(input.manifest);
    const release =
      input.releaseListing === undefined
        ? await describeRelease(input.releaseDir, { knownHashes: input.releaseHashes, umask })
        : await listedRelease(input.releaseDir, input.releaseListing, { umask });
    const applied = await applyUpdate({
      app: input.app,
      appDir: input.appDir,
      release,
      releaseId: input.releaseId,
      ...(input.materialize === undefined ? {} : { materialize: input.materialize }),
      manifest: input.manifest,
      ...(input.privilegedFiles === undefined ? {} : { privilegedFiles: input.privilegedFiles }),
      stateDir: input.stateDir,
      backupRoot: input.backupDir,
      previousVersion: input.previousVersion,
      log: input.log,
    });
    return {
      backupPath: applied.backup.path,
      summary: { ...applied.summary },
      merges: applied.merges,
      overwritten: applied.overwritten,
      edited: applied.edited,
      ownersNotKept: applied.ownersNotKept,
      backupOwnersNotKept: applied.backupOwnersNotKept,
      splitLinks: applied.splitLinks,
    };
  },
  keepBackups: ({ backupDir, keep, backupPath, installed, log, ...app }) =>
    keepNewestBackups({ ...app, backupRoot: backupDir, keep, own: { backupPath, installed } }, log),
  checkMerges: (input) => checkMergeInputs(input),
  async checkPaths(input) {
    await checkPathTypes(input);
    await checkImmutable(input);
  },
  async findBackup({ app, appDir, backupDir, replacedBy, since }) {
    const backups = await listBackups(backupDir, app, appDir);
    const found = backups.find(
      (b) => b.replacedBy === replacedBy && Date.parse(b.created) >= Date.parse(since),
    );
    return found?.path ?? null;
  },
  async restore(input) {
    const { outside, displaced, kept, linked } = await restoreBackup(input);
    return {
      paths: [...outside, ...displaced, ...kept],
      oldVersions: unrestoredDir(input.backupPath),
      linked,
    };
  },
};

/** `trust`: ship.toml's [trust]; with keys, every standalone release must be signed by one of them. */
export function defaultPorts(trust?: Trust): PipelinePorts {
  return {
    openSource: (name, source, context) => {
      if (!requiresSignatures(trust)) return createSource(name, source, context);
      const inner = createSource(name, source, { ...context, signatures: true });
      return new SignatureCheckingSource(inner, trust, context.log, source);
    },
    loadManifest: (file) => loadManifestFile(file),
    evaluateConditionals,
    checkRequirements,
    engine,
  };
}

async function evaluateConditionals(
  conditionals: Conditional[],
  input: ConditionalsInput,
): Promise<ConditionalsVerdict> {
  const ran: RanCommand[] = [];
  const context = hostConditionContext({
    appDir: input.appDir,
    currentVersion: input.currentVersion ?? undefined,
    debug: (message) => input.log.debug(message),
    onCommand: (command) => ran.push(command),
  });
  const evaluated = await evaluateHostConditionals(conditionals, context);
  const notes = await releaseScriptNotes(ran, input.appDir, input.releaseDir);
  const verdict = { ...evaluated, warnings: [...evaluated.warnings, ...notes] };
  for (const outcome of verdict.outcomes) {
    // Quoted as the run's other words quote it: a command line's arguments may carry a secret.
    input.log.debug(`conditional ${outcome.said} = ${outcome.result}`, {
      observations: outcome.observations.map(saidObservation),
    });
  }
  const message = verdict.reasons.join("; ");
  switch (verdict.decision) {
    case "proceed":
      return { action: "proceed", warnings: verdict.warnings };
    case "skip":
      return { action: "skip", message, warnings: verdict.warnings };
    case "manual":
      return {
        action: "manual",
        message,
        manualSteps: verdict.manualSteps,
        warnings: verdict.warnings,
        ...(verdict.skipReasons.length === 0 ? {} : { skipMessage: verdict.skipReasons.join("; ") }),
      };
  }
}

async function checkRequirements(
  requirements: Requirements,
  input: { appDir: string; releaseDir?: string },
): Promise<RequirementsVerdict> {
  const report = await checkHostRequirements(requirements, {
    appDir: input.appDir,
    ...(input.releaseDir === undefined ? {} : { releaseDir: input.releaseDir }),
  });
  return {
    ok: report.ok,
    failures: report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`),
  };
}
