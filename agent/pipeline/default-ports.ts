/** The production wiring of the pipeline's ports to the agent's modules. */

import { evaluateCondition } from "../../shared/conditions/evaluate.js";
import { parseCondition } from "../../shared/conditions/parse.js";
import { loadManifestFile } from "../../shared/manifest/load.js";
import type { Conditional, Requirements } from "../../shared/manifest/schema.js";
import { applyUpdate, describeRelease, listBackups, recoverApp, restoreBackup } from "../apply/index.js";
import { hostConditionContext } from "../conditions/host-context.js";
import { createSource } from "../sources/create.js";
import type {
  ConditionalsInput,
  ConditionalsVerdict,
  PipelinePorts,
  RequirementsVerdict,
  UpdateEngine,
} from "./ports.js";

const engine: UpdateEngine = {
  async recover({ stateDir, log }) {
    const result = await recoverApp({ stateDir, log });
    if (result.action !== "none") log.warn(result.message, { action: result.action });
    return { detail: result.message };
  },
  async apply(input) {
    const release = await describeRelease(input.releaseDir);
    const applied = await applyUpdate({
      app: input.app,
      appDir: input.appDir,
      release,
      manifest: input.manifest,
      stateDir: input.stateDir,
      backupRoot: input.backupDir,
      log: input.log,
    });
    return { backupPath: applied.backup.path, summary: { ...applied.summary } };
  },
  async findBackup({ app, backupDir, replacedBy, since }) {
    const backups = await listBackups(backupDir, app);
    const found = backups.find(
      (b) => b.replacedBy === replacedBy && Date.parse(b.created) >= Date.parse(since),
    );
    return found?.path ?? null;
  },
  async restore({ appDir, stateDir, backupPath, log }) {
    await restoreBackup({ appDir, stateDir, backupPath, log });
  },
};

export function defaultPorts(): PipelinePorts {
  return {
    openSource: (name, source, context) => createSource(name, source, context),
    loadManifest: (file) => loadManifestFile(file),
    evaluateConditionals,
    checkRequirements,
    engine,
  };
}

// TODO: switch to agent/conditions/evaluate-conditionals.ts when it lands.
async function evaluateConditionals(
  conditionals: Conditional[],
  input: ConditionalsInput,
): Promise<ConditionalsVerdict> {
  const context = hostConditionContext({
    appDir: input.appDir,
    currentVersion: input.currentVersion ?? undefined,
    debug: (message) => input.log.debug(message),
  });
  const warnings: string[] = [];
  for (const conditional of conditionals) {
    if (!(await evaluateCondition(parseCondition(conditional.condition), context))) continue;
    const message = conditional.message ?? conditional.condition;
    if (conditional.action === "warn") warnings.push(message);
    else if (conditional.action === "skip_update") return { action: "skip", message, warnings };
    else return { action: "manual", message, manualSteps: conditional.manual_steps, warnings };
  }
  return { action: "proceed", warnings };
}

// TODO: switch to agent/requirements/check.ts when it lands; until then fail closed.
async function checkRequirements(requirements: Requirements): Promise<RequirementsVerdict> {
  const set =
    requirements.min_python_version !== undefined ||
    requirements.min_disk_space_mb !== undefined ||
    requirements.required_commands.length > 0 ||
    requirements.required_services.length > 0 ||
    requirements.environment_checks.length > 0;
  return set
    ? { ok: false, failures: ["requirement checks are not available in this build"] }
    : { ok: true, failures: [] };
}
