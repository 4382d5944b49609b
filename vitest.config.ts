import { defineConfig } from "vitest/config";
import SlowFirst from "./tests/support/slow-first.js";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/support/global-setup.ts"],
    sequence: { sequencer: SlowFirst },
    // Integration tests start real servers and child processes; give them room but keep runs bounded.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // isolate: false reuses each fork for the next file instead of starting a fresh one per file: the
    // worker's start and the modules every file imports (vitest, the agent and hub code, their
    // dependencies) load once per fork, not 184 times. That was ~1 s of CPU per file (31 unit files:
    // 53 s of CPU isolated, 23 s not). Files still run one at a time per fork; a file that sets
    // process.env or fake timers puts them back in finally/afterEach, as it must anyway.
    // Three forks on CI's two cores: much of the suite waits on servers and child processes (load
    // stayed 1.5-3.4 with two), and a quiet full run took 906 s with three against 1,083 s with two.
    poolOptions: { forks: { maxForks: 3, minForks: 1, isolate: false } },
  },
});
