/**
 * The CLI quotes back the value of a flag it refuses (`--selector "KEY=VALUE": …`). A `"` inside
 * that value was left as it was: `--selector 'env"prod'` was said as `--selector "env"prod"`, where
 * the quote seems to end after `env`, and a `\` could not be told from an escape. The value is now
 * quoted as a shell reads it back between double quotes (`"env\"prod"`), for every flag the CLI
 * quotes, and the hub's refusals said in the flags' terms alike. Real hub, the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import { hubWithLabelledAgents, type LabelledHub } from "./support.js";

describe("a quote or backslash in a flag's value, said back by the CLI", () => {
  let hub: LabelledHub;
  let release = "";
  const cli = (...args: string[]) => hub.cli(...args);

  beforeAll(async () => {
    requireHubBin();
    hub = await hubWithLabelledAgents([]);
    ({ release } = hub);
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it("--selector and --wave refusals escape it, checked by the CLI or named in a hub's answer", async () => {
    expect(await cli("agents", "--selector", 'env"prod')).toMatchObject({
      code: 2,
      stderr: 'ship-hub: --selector "env\\"prod": use KEY=VALUE\n',
    });
    const create = (...flags: string[]) => cli("rollout", "create", "--release", release, ...flags);
    expect(await create("--selector", 'ring=a"b', "--selector", "ring=c\\d")).toMatchObject({
      code: 2,
      stderr:
        'ship-hub: --selector "ring=c\\\\d": ring is given twice (ring=a"b, ring=c\\d): an agent carries one value per label, so none matches both\n',
    });
    expect(await create("--wave", 'c"1')).toMatchObject({
      code: 2,
      stderr: 'ship-hub: --wave "c\\"1": use NAME=PERCENT, NAME=label:K=V or NAME=agents:ID,ID\n',
    });
    // Named in the hub's answer: the selector's label and a labels wave's, by their names as sent.
    const long = "v".repeat(201);
    expect(await create("--selector", `my"rack=${long}`)).toMatchObject({
      code: 2,
      stderr:
        'ship-hub: hub answered 400: --selector "my\\"rack=…": a label value must be at most 200 characters\n',
    });
    expect(await create("--wave", `c=label:a"b=${long}`)).toMatchObject({
      code: 2,
      stderr: `ship-hub: hub answered 400: --wave "c=label:a\\"b=${long}": label "a\\"b": a label value must be at most 200 characters\n`,
    });
  });

  it("the number and duration flags escape it too", async () => {
    expect(await cli("rollout", "create", "--release", release, "--failure-threshold", '5"')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^ship-hub: --failure-threshold "5\\"": must be a number of failures/),
    });
    expect(await cli("rollout", "list", "--limit", '"1"')).toMatchObject({
      code: 2,
      stderr: 'ship-hub: --limit "\\"1\\"": use a whole number from 1 to 1000\n',
    });
  });
});
