import { compareVersions } from "../../shared/versions.js";
import { lastLine } from "../exec/run-command.js";
import { runProgram } from "../exec/run-program.js";
import type { RequirementResult } from "./check.js";

const NAME = "min_python_version";
const TIMEOUT_MS = 10_000;

/** Runs `python3 --version` (found on the given PATH); a missing python3 is unmet. */
export async function checkPythonVersion(min: string, env: NodeJS.ProcessEnv): Promise<RequirementResult> {
  // A python3 that is a wrapper script (a pyenv or conda shim) is bounded with what it starts.
  const answer = await runProgram("python3", ["--version"], { env, timeoutMs: TIMEOUT_MS, keepOutput: 2000 });
  if (answer.spawnError?.code === "ENOENT")
    return { name: NAME, ok: false, detail: `python3 not found (need ≥ ${min})` };
  const found = /Python\s+(\S+)/.exec(answer.output)?.[1];
  if (answer.exitCode !== 0 || found === undefined) {
    const said =
      lastLine(answer.output) ||
      answer.spawnError?.message ||
      (answer.timedOut ? `no answer in ${TIMEOUT_MS / 1000} s (killed)` : "no output");
    return { name: NAME, ok: false, detail: `python3 --version did not report a version: ${said}` };
  }
  const ok = compareVersions(found, min) >= 0;
  return { name: NAME, ok, detail: `python3 is ${found}${ok ? "" : `, need ≥ ${min}`}` };
}
