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
    // vitest's 1 s default for expect.poll ran out on a loaded CI machine; a poll ends as soon as
    // it holds, so a longer limit costs only a failing run.
    expect: { poll: { timeout: 10_000 } },
    pool: "forks",
    // isolate: false reuses each fork for the next file instead of starting a fresh one per file: the
    // worker's start and the modules every file imports (vitest, the agent and hub code, their
    // dependencies) load once per fork, not 184 times. That was ~1 s of CPU per file (31 unit files:
    // 53 s of CPU isolated, 23 s not). Files still run one at a time per fork; a file that sets
    // process.env or fake timers puts them back in finally/afterEach, as it must anyway.
    // Two forks, not three: three ran a quiet full suite in 906 s against 1,083 s, but any run of
    // 3 to 10 files with three forks ended in tinypool's "Terminating worker thread" unhandled
    // rejection (exit 1 with every test passed), so a subset run would fail for nothing.
    poolOptions: { forks: { maxForks: 2, minForks: 1, isolate: false } },
  },
});
