/**
 * In vitest's main process, before the forks start: the agent CLI's code caches made by an update
 * (warm-code-caches.ts). After the run, its own clean-up: what a test fork keeps for the whole run
 * and cannot remove itself (vitest ends its forks without an 'exit' event), named after this process.
 */
import { readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRunTemplate } from "./run-template.js";
import { warmAgentCodeCache, warmCodeCaches } from "./warm-code-caches.js";

export async function setup(): Promise<void> {
  warmCodeCaches();
  await warmAgentCodeCache();
}

export function teardown(): void {
  for (const name of readdirSync(tmpdir()))
    if (isRunTemplate(name, process.pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
}
