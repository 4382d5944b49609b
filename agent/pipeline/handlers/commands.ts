/** The steps that run the manifest's commands: hooks, migrations, post_update_tests, cleanup. */

import { fsErrorText } from "../../../shared/fs-errors.js";
import { listed } from "../../exec/named-command.js";
import { notYetInstalled } from "../../exec/not-yet-installed.js";
import { runTestWithRetries } from "../../exec/retry.js";
import { describeFailure } from "../../exec/run-command.js";
import { runningCommandFile } from "../../exec/running-command.js";
import { pruneOldFiles, removeCleanupFiles } from "../cleanup-files.js";
import { commandEnv, need, type UpdateContext } from "../context.js";
import { StepFailedError } from "../errors.js";
import { ranMigrationName, selectMigrations } from "../migrations.js";
import { CONTINUE, type StepOutcome } from "../outcome.js";
import { recordPendingMigrations } from "../pending-update.js";
import { runCommandList } from "../run-commands.js";

export async function runHooks(
  ctx: UpdateContext,
  phase: "pre_update" | "post_update",
): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  const label = `${phase} hook`;
  try {
    await runCommandList(ctx, label, listed(label, manifest.hooks[phase]));
  } catch (error) {
    if (phase !== "pre_update" || !(error instanceof StepFailedError)) throw error;
    // The reason starts with the failed command's label: `pre_update hook[N] …`.
    const index = Number(/^pre_update hook\[(\d+)\]/.exec(error.reason)?.[1]);
    const spec = manifest.hooks.pre_update[index];
    const command = spec === undefined ? "" : typeof spec === "string" ? spec : spec.command;
    const note = await notYetInstalled(command, ctx.source.app_dir, ctx.release?.dir, "pre_update hooks run");
    if (note === "") throw error;
    throw new StepFailedError(error.step, `${error.reason}${note}`);
  }
  return CONTINUE;
}

export async function runMigrations(ctx: UpdateContext): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  if (Object.keys(manifest.migrations).length === 0) return CONTINUE;
  const last = ctx.currentVersion === null ? ctx.lastInstalled : undefined;
  if (last !== undefined) {
    // With the install index gone they were all skipped as "unknown", though the state file or the
    // newest backup names the version, as the downgrade refusal already trusted.
    const note = `migrations run from ${last.version}, the version ship installed last here (${last.why})`;
    ctx.log.warn(note, { from: last.version });
    ctx.warnings.push(note);
  } else if (ctx.currentVersion === null && ctx.freshInstall !== true) {
    // Up to the release's own version: those a known install would have run. Said in the run's
    // last line too, since the app may now have 2.0.0's code over a database 2.0.0 never migrated.
    const skipped = selectMigrations(manifest.migrations, null, manifest.version).map((b) => b.version);
    if (skipped.length === 0) return CONTINUE;
    const note = `migrations ${skipped.join(", ")} not run: ship has no record of the version installed before, so it cannot tell which of them the app has had; run those it lacks by hand`;
    ctx.log.warn(note, { migrations: skipped });
    ctx.warnings.push(note);
    ctx.skippedMigrations = skipped;
    return CONTINUE;
  }
  const from = ctx.currentVersion ?? last?.version ?? null;
  for (const batch of selectMigrations(manifest.migrations, from, manifest.version)) {
    ctx.log.info(`running migrations for ${batch.version}`);
    const before = ctx.ranMigrations ?? [];
    let succeeded = 0;
    const label = `migration ${batch.version}`;
    await runCommandList(ctx, label, listed(label, batch.commands), {
      onSucceeded: async () => {
        succeeded += 1;
        const ran = ranMigrationName(batch.version, succeeded, batch.commands.length);
        ctx.ranMigrations = ran === undefined ? before : [...before, ran];
        // Durable before the next command: the recovery of a run killed in it names them too.
        await recordPendingMigrations(ctx, ctx.ranMigrations).catch((error: unknown) =>
          ctx.log.warn("could not record the migrations run in the state file", {
            error: fsErrorText(error),
          }),
        );
      },
    });
  }
  return CONTINUE;
}

export async function runPostUpdateTests(ctx: UpdateContext): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  for (const test of manifest.post_update_tests) {
    const result = await runTestWithRetries(test, {
      cwd: ctx.source.app_dir,
      env: commandEnv(ctx),
      log: ctx.log,
      delayScale: ctx.settings.delayScale,
      recordFile: runningCommandFile(ctx.paths.appStateDir),
    });
    if (!result.ok) {
      const why = describeFailure(`post_update_test "${test.name}"`, result.last, test.timeout);
      throw new StepFailedError(
        "post_update_tests",
        `${why} (after ${result.attempts} attempt${result.attempts === 1 ? "" : "s"})`,
      );
    }
    ctx.log.info(`post_update_test "${test.name}" passed`, { attempts: result.attempts });
  }
  return CONTINUE;
}

export async function runCleanup(ctx: UpdateContext): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  const appDir = ctx.source.app_dir;
  // Into the update's backup, so a rollback brings back what cleanup took too.
  await removeCleanupFiles(appDir, manifest, ctx.log, ctx.paths.appStateDir, ctx.applied?.backupPath);
  await pruneOldFiles(appDir, manifest, ctx.settings.now(), ctx.log, ctx.paths.appStateDir);
  await runCommandList(ctx, "cleanup command", listed("cleanup command", manifest.cleanup.commands));
  return CONTINUE;
}
