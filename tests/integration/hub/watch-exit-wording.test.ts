/**
 * `rollout show --watch` says what its exit 0 means in one wording, in its --help and in the
 * README: the code exits 0 when the rollout completed with no agent failed and none still updating,
 * even with agents left out (not applicable, forgotten, cancelled: never sent the release). The
 * help said "with every agent on the release", which a script author would take for a fleet-wide
 * guarantee the command never checked.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";

let cwd: string;
beforeAll(async () => {
  requireHubBin();
  cwd = await mkdtemp(join(tmpdir(), "ship-hub-watch-help-"));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const oneLine = (text: string) => text.replace(/\s+/g, " ");
/** "exit 0 …" up to the first ";" or ",": what the text promises exit 0 means. */
const exitZero = (text: string) => /exit 0 ([^;,]*)/.exec(oneLine(text))?.[1]?.trim();

it("rollout show --watch --help says of exit 0 what the README says, and what the code does", async () => {
  const run = await runHubCli(cwd, ["rollout", "show", "--help"]);
  expect(run.code).toBe(0);
  const help = exitZero(run.stdout);
  expect(help).toBe("completed with no agent failed and none still updating");
  expect(oneLine(run.stdout)).not.toMatch(/every agent on the release/);
  const readme = await readFile("README.md", "utf8");
  const watchLine = readme.split("\n").find((l) => l.startsWith("ship-hub rollout show ID --watch"));
  expect(watchLine).toBeDefined();
  expect(exitZero(watchLine ?? "")).toMatch(new RegExp(`^${help}\\b`));
});
