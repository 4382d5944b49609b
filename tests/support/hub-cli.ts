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
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HUB_BIN, ...args], {
      cwd,
      env: {
        ...process.env,
        SHIP_HUB_DATABASE_URL: "",
        SHIP_HUB_SECRET: "",
        SHIP_HUB_CONFIG: resolve(cwd, "no-such-hub.toml"),
        ...env,
      },
      timeout: timeoutMs,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
