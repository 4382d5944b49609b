import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The compiled hub CLI; `npm test` builds before vitest runs. */
export const HUB_BIN = resolve("dist/hub/cli/main.js");

export function requireHubBin(): void {
  if (!existsSync(HUB_BIN)) throw new Error(`${HUB_BIN} missing: build first (npm run build; npm test does)`);
}

/** The environment a hub CLI child runs with: only `env` decides the mode (see `runHubCli`). */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SHIP_HUB_DATABASE_URL: "",
    SHIP_HUB_SECRET: "",
    // Empty reads as unset: no hub.toml but /etc/ship/hub.toml, which a test machine does not have.
    SHIP_HUB_CONFIG: "",
    ...env,
  };
}

/**
 * Runs `ship-hub ARGS` in `cwd` as a real child process; resolves with its exit code and output
 * whether it failed or not. SHIP_HUB_DATABASE_URL, SHIP_HUB_SECRET and SHIP_HUB_CONFIG from the
 * caller's environment are cleared so only `env` decides the mode.
 */
export async function runHubCli(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
  /** Another user to run as (a root test run meeting permissions as a non-root hub does). */
  user?: { uid: number; gid: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HUB_BIN, ...args], {
      cwd,
      env: cliEnv(env),
      timeout: timeoutMs,
      ...user,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/**
 * `runHubCli` for a command that runs a while (`rollout show --watch`): `stdout()` is what it
 * printed so far, so a test waits for what it drew instead of sleeping and hoping it drew by then.
 */
export function startHubCli(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): { stdout: () => string; done: Promise<{ code: number; stdout: string; stderr: string }> } {
  let stdout = "";
  let stderr = "";
  const child = execFile(process.execPath, [HUB_BIN, ...args], {
    cwd,
    env: cliEnv(env),
    timeout: timeoutMs,
  });
  child.stdout?.on("data", (chunk: Buffer | string) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer | string) => {
    stderr += chunk.toString();
  });
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolveDone) =>
    child.on("close", (code) => resolveDone({ code: code ?? -1, stdout, stderr })),
  );
  return { stdout: () => stdout, done };
}
