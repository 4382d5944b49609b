import { spawn } from "node:child_process";

/**
 * `ship agent` (the bin `bin`) started with `args` and stopped by one SIGTERM once it logged its
 * start, as `systemctl stop` does: its exit code and stderr. A second signal would stop it at once
 * (128+signal), without writing its code cache; SIGKILL after a minute if it never starts.
 */
export function startAndStopAgent(
  bin: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; uid?: number; gid?: number },
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [bin, "agent", ...args], {
      ...options,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const stuck = setTimeout(() => child.kill("SIGKILL"), 60_000);
    let stderr = "";
    let stopping = false;
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (stderr.includes('"agent started"') && !stopping) {
        stopping = true;
        child.kill("SIGTERM");
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(stuck);
      done({ code, stderr });
    });
  });
}
