import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
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

/**
 * Whether the dashboard serves a file at `path` (as the request asks for it: `/`, `/app.css`,
 * `/js/main.js`) to a GET: what a 405 to another method there names (api/app.ts).
 */
export function dashboardServes(path: string, assets: DashboardAssets = findDashboardAssets()): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false;
  }
  if (decoded === "/") return true;
  const [dir, rest] = decoded.startsWith("/js/")
    ? [assets.scriptsDir, decoded.slice(4)]
    : [assets.staticDir, decoded.slice(1)];
  // Only a file inside the directory, as express.static serves (no `..` out of it).
  const file = resolve(dir, rest);
  if (!file.startsWith(`${resolve(dir)}${sep}`)) return false;
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
