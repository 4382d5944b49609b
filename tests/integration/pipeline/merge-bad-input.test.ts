/**
 * A config a merge cannot parse is bad input (exit 2) and changes nothing: refused in verify, before
 * the pre_update hooks; and should it only show at the apply (edited after the check), still exit 2
 * with the app's files untouched, the rollback hooks run for what pre_update may have stopped.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultPorts } from "../../../agent/pipeline/default-ports.js";
import type { PipelinePorts } from "../../../agent/pipeline/ports.js";
import { createSandbox, hashTree, type Sandbox } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

const manifest = (version: string, marker: string) => ({
  version,
  files: { "settings.yaml": { action: "merge_yaml" as const } },
  hooks: { pre_update: [`echo pre >> ${marker}`], rollback: [`echo rollback >> ${marker}`] },
});

async function installThenBreak(marker: string): Promise<string> {
  const v1 = await box.release(
    "v1",
    { "app.py": "v1\n", "settings.yaml": "a: 1\n" },
    manifest("1.0.0", marker),
  );
  expect((await box.run(v1)).exitCode).toBe(0);
  await writeFile(marker, "");
  await writeFile(join(box.appDir, "settings.yaml"), "a: 1\nb: [1, 2\n");
  return box.release("v2", { "app.py": "v2\n", "settings.yaml": "a: 2\n" }, manifest("2.0.0", marker));
}

describe("a user config that does not parse", () => {
  it("is refused before the pre_update hooks: exit 2 naming file:line:column, nothing changed", async () => {
    const marker = join(box.root, "hooks.log");
    const v2 = await installThenBreak(marker);
    const before = await hashTree(box.appDir);
    const run = await box.run(v2);
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.message).toMatch(new RegExp(`${box.appDir}/settings\\.yaml:3:1 cannot merge`));
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("");
  });

  it("found only by the apply: still exit 2, files untouched, rollback hooks run", async () => {
    const marker = join(box.root, "hooks.log");
    const v2 = await installThenBreak(marker);
    const before = await hashTree(box.appDir);
    const real = defaultPorts();
    // As if the file broke between the check and the apply.
    const ports: PipelinePorts = { ...real, engine: { ...real.engine, checkMerges: async () => {} } };
    const run = await box.run(v2, { ports });
    expect(run.exitCode).toBe(2);
    expect(run.apps[0]?.result).toBe("failed_unchanged");
    expect(run.apps[0]?.message).toMatch(/settings\.yaml:3:1 cannot merge/);
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(await readFile(marker, "utf8")).toBe("pre\nrollback\n");
  });
});
