import { readFileSync } from "node:fs";

/** ship's version (agent and hub), from package.json: two levels up from dist/shared, one from shared/. */
function readVersion(): string {
  for (const rel of ["../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "ship" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return "0.0.0";
}

/** Set by the agent CLI's bundler (scripts/build-agent-cli.mjs): the bundle sits elsewhere in dist/. */
declare const __SHIP_VERSION__: string | undefined;

export const SHIP_VERSION = typeof __SHIP_VERSION__ === "string" ? __SHIP_VERSION__ : readVersion();
