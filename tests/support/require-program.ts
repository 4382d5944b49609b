import { spawnSync } from "node:child_process";

/**
 * Whether a system program a test needs is installed. On a developer's box a missing program
 * skips the test with a loud reason; under CI=true it fails, so CI can never pass by skipping.
 */
export function hasProgram(name: string): boolean {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
  return requireFound(found, `${name} is not installed (apt-get install it; .ci/run does)`);
}

/** The skip-loudly / fail-under-CI rule for anything a test needs from the system. */
export function requireFound(found: boolean, reason: string): boolean {
  if (!found) {
    if (process.env.CI === "true") throw new Error(`CI=true and ${reason}`);
    console.warn(`SKIPPING: ${reason}`);
  }
  return found;
}
