import { type ExecFileException, execFile } from "node:child_process";
import { compareVersions } from "../../shared/versions.js";
import type { RequirementResult } from "./check.js";

const NAME = "min_python_version";

/** Runs `python3 --version` (found on the given PATH); a missing python3 is unmet. */
export async function checkPythonVersion(min: string, env: NodeJS.ProcessEnv): Promise<RequirementResult> {
  const answer = await new Promise<{ error: ExecFileException | null; text: string }>((resolve) => {
    execFile("python3", ["--version"], { env, timeout: 10_000 }, (error, stdout, stderr) =>
      resolve({ error, text: `${stdout}${stderr}` }),
    );
  });
  if (answer.error?.code === "ENOENT")
    return { name: NAME, ok: false, detail: `python3 not found (need ≥ ${min})` };
  const found = /Python\s+(\S+)/.exec(answer.text)?.[1];
  if (answer.error !== null || found === undefined) {
    const said = answer.text.trim() || answer.error?.message || "no output";
    return { name: NAME, ok: false, detail: `python3 --version did not report a version: ${said}` };
  }
  const ok = compareVersions(found, min) >= 0;
  return { name: NAME, ok, detail: `python3 is ${found}${ok ? "" : `, need ≥ ${min}`}` };
}
