import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..", "..");

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * Compiles the front-end (as `npm run build` does) unless dist/dashboard is newer than every
 * source file, so a lone `npx vitest run tests/browser` still tests the current code.
 */
export function buildDashboard(): void {
  let built = 0;
  try {
    built = statSync(join(root, "dist", "dashboard", "main.js")).mtimeMs;
  } catch {}
  if (
    built > newest(join(root, "dashboard", "src")) &&
    built > statSync(join(root, "dashboard", "tsconfig.json")).mtimeMs
  )
    return;
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", join(root, "dashboard", "tsconfig.json")], {
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`dashboard build failed:\n${result.stdout}${result.stderr}`);
}

/** Polls `check` until it holds; for hooks, where vitest's expect.poll is not available. */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
