/**
 * post_update_tests with the manifest's retry_count / retry_delay: a health check that needs a few
 * seconds after a restart is retried, and the log says how many attempts it took.
 */
import type { PostUpdateTest } from "../../shared/manifest/schema.js";
import { type CommandResult, type RunCommandOptions, runCommand } from "./run-command.js";

export interface RetriedResult {
  ok: boolean;
  attempts: number;
  last: CommandResult;
}

export interface RetryOptions extends Omit<RunCommandOptions, "timeoutSeconds" | "label"> {
  /** Multiplies retry_delay; the pipeline passes 0 in tests so retries run at once. */
  delayScale?: number;
}

export async function runTestWithRetries(
  test: PostUpdateTest,
  options: RetryOptions,
): Promise<RetriedResult> {
  const attemptsAllowed = test.retry_count + 1;
  const delayMs = test.retry_delay * 1000 * (options.delayScale ?? 1);
  let attempt = 0;
  for (;;) {
    attempt += 1;
    const last = await runCommand(test.command, {
      ...options,
      timeoutSeconds: test.timeout,
      label: `post_update_test "${test.name}" (attempt ${attempt}/${attemptsAllowed})`,
      onFailure: attempt < attemptsAllowed ? "retried" : "error",
    });
    if (last.ok || attempt >= attemptsAllowed) return { ok: last.ok, attempts: attempt, last };
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  }
}
