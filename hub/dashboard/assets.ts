import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface DashboardAssets {
  /** index.html and app.css, shipped as written. */
  staticDir: string;
  /** The compiled front-end modules (`tsc -p dashboard/tsconfig.json`). */
  scriptsDir: string;
}

/**
 * The package root holds dashboard/static and dist/dashboard whether the hub runs compiled
 * (dist/hub/dashboard/) or from source under tsx or vitest (hub/dashboard/), so walk up to it.
 */
export function findDashboardAssets(from: string = fileURLToPath(import.meta.url)): DashboardAssets {
  let dir = dirname(from);
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return { staticDir: join(dir, "dashboard", "static"), scriptsDir: join(dir, "dist", "dashboard") };
}

/** Files the dashboard cannot work without that are absent (an install that left them out). */
export function missingDashboardAssets(assets: DashboardAssets = findDashboardAssets()): string[] {
  return [join(assets.staticDir, "index.html"), join(assets.scriptsDir, "main.js")].filter(
    (f) => !existsSync(f),
  );
}
