/**
 * `ship-hub` usage errors are bad input, exit 2 as the README's exit-code list says for every
 * ship-hub command (commander's own default is 1, which reads as "the hub failed"); help stays 0.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";

let cwd: string;
beforeAll(async () => {
  requireHubBin();
  cwd = await mkdtemp(join(tmpdir(), "ship-hub-usage-"));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe("ship-hub usage errors exit 2", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["a missing argument", ["rollout", "abort"], /missing required argument 'id'/],
    ["a missing argument (show)", ["rollout", "show"], /missing required argument 'id'/],
    ["a missing argument (token revoke)", ["token", "revoke"], /missing required argument 'jti'/],
    ["an unknown option", ["rollout", "list", "--bogus"], /unknown option '--bogus'/],
    ["an unknown command", ["rollouts"], /unknown command 'rollouts' \(Did you mean rollout\?\)/],
    ["a missing mandatory option", ["token", "create"], /--role/],
    ["a bad choice", ["token", "create", "--role", "admin"], /--role/],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: ship-hub ${args.join(" ")}`, async () => {
      const run = await runHubCli(cwd, args);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(message);
      // One line, as every other refusal: commander's "error: …", its suggestion on a line of its
      // own and the whole help after it pushed the reason off the screen.
      expect(run.stderr).toMatch(/^ship-hub: [^\n]+ \(see `ship-hub[a-z ]*--help`\)\n$/);
    });
  }
  it("--help is still exit 0", async () => {
    const run = await runHubCli(cwd, ["rollout", "create", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--wave/);
  });

  it("with --json an error is one JSON line on stderr with the same exit code: usage errors and the CLI's own checks", async () => {
    const cases: Array<[string[], string]> = [
      [["rollout", "list", "--json", "--bogus"], "unknown option '--bogus'"],
      [
        ["rollout", "pause", "--json", "x", "y"],
        "too many arguments for 'pause'. Expected 1 argument but got 2.",
      ],
      [["agents", "forget", "--json"], "missing required argument 'id'"],
      // Commander's suggestion came on a line of its own: the JSON line carried a newline.
      [["agents", "--json", "--hubb", "x"], "unknown option '--hubb' (Did you mean --hub?)"],
      // Not commander's: the CLI's own checks of a value.
      [["rollout", "list", "--json", "--limit", "x"], '--limit "x": use a whole number from 1 to 1000'],
    ];
    await Promise.all(
      cases.map(async ([args, error]) => {
        const run = await runHubCli(cwd, args);
        expect({ args, code: run.code, stderr: JSON.parse(run.stderr) as unknown }).toEqual({
          args,
          code: 2,
          stderr: { error, exitCode: 2, message: `ship-hub: ${error}` },
        });
        expect(run.stdout).toBe("");
      }),
    );
  });
});
