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
    // A machine whose environment names a CA bundle in NODE_EXTRA_CA_CERTS (the CI sandbox's: 225 KB)
    // has every Node process parse it as it starts, before any code of its own: ~55 ms of CPU on
    // each of the thousands of ship, ship-hub and agent processes the tests start (a quarter of a
    // `ship --version`). No test needs it: each names its own test CA (ca_file, or
    // NODE_EXTRA_CA_CERTS where a test sets it); empty is unset to Node. Only install.sh's npm,
    // which fetches from the registry (SHIP_TEST_INSTALL=1, a run of its own), keeps it.
    env: process.env.SHIP_TEST_INSTALL === "1" ? {} : { NODE_EXTRA_CA_CERTS: "" },
    pool: "forks",
    // isolate: false reuses each fork for the next file instead of starting a fresh one per file: the
    // worker's start and the modules every file imports (vitest, the agent and hub code, their
    // dependencies) load once per fork, not 184 times. That was ~1 s of CPU per file (31 unit files:
    // 53 s of CPU isolated, 23 s not). Files still run one at a time per fork; a file that sets
    // process.env or fake timers puts them back in finally/afterEach, as it must anyway.
    // Three forks, all started up front: the files mostly wait on child processes, servers and
    // timers, so a third fork uses a 2-core machine's idle time (a quiet full suite: 906 s against
    // 1,083 s with two). minForks equals maxForks because with fewer started than allowed, tinypool
    // ended any run of 3 to 10 files in "Terminating worker thread" (an unhandled rejection: exit 1
    // with every test passed), vitest #8564; with all of them started up front it does not.
    poolOptions: { forks: { maxForks: 3, minForks: 3, isolate: false } },
  },
});
