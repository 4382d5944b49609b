import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

/** The demo runs its own hub: an operator's SHIP_HUB_* settings must not reach it. */
function withoutHubVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("SHIP_")));
}

// `npm ci && npm run demo` is the first command the README gives a newcomer: the demo itself (a
// hub, three `ship agent` processes, a canary → 100 % rollout) must keep ending with every host
// updated and its config and data kept. `npm test` has built dist/ already, as `npm run demo` does.
describe("npm run demo (scripts/demo.mjs, the README's first command)", () => {
  it("brings all three hosts to 2.0.0 with their own config and data, exit 0", {
    timeout: 120_000,
  }, async () => {
    // With every port the demo's own process releases taken at once (tests/support/port-thief.mjs):
    // the hub's port is the hub's to pick; one picked and released by the demo, seconds before the
    // hub's start, could be taken by any of the suite's other processes in between.
    const thief = resolve("tests/support/port-thief.mjs");
    const { stdout } = await run(process.execPath, ["--import", thief, resolve("scripts/demo.mjs")], {
      timeout: 110_000,
      env: withoutHubVariables(),
    }).catch((error: { message: string; stdout?: string; stderr?: string }) => {
      // execFile's error names only the command: what the demo printed says which step failed.
      throw new Error(
        `${error.message}\n--- stdout\n${error.stdout ?? ""}\n--- stderr\n${error.stderr ?? ""}`,
      );
    });
    expect(stdout).toMatch(/All 3 hosts on 2\.0\.0 with their own config and data/);
    for (const host of ["web-1", "web-2", "web-3"])
      expect(stdout).toMatch(new RegExp(`${host}: ✓ on 2\\.0\\.0 \\(files\\)\\s+✓ hub says 2\\.0\\.0`));
    expect(stdout).toMatch(/rollout completed/);
  });
});
