/**
 * A refusal lists the first 100 problems and counts the rest: a body with 9,000 unknown keys in
 * one mapping (a rollout's selector, the body itself) was answered with every one of them named
 * (a 458 KB 400 for a 1.4 MB body), since the bound counted zod's issues and one issue holds all
 * the unknown keys of a mapping. The same line is what `ship-hub rollout create --spec` prints for
 * a spec file, so a terminal got it whole too. Real hub over real HTTP, the built CLI.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireHubBin } from "../../support/hub-cli.js";
import { hubPerTest, operatorCli, publishRelease } from "../hub/support.js";

const session = hubPerTest();

const KEYS = 5_000;
/** 100 problems of this kind say well under this; every key named was ~50 bytes each. */
const MOST = 12_000;

function unknownKeys(): Record<string, string> {
  return Object.fromEntries(Array.from({ length: KEYS }, (_, i) => [`k${i}`, "v"]));
}

function expectBounded(text: string, field: string): void {
  expect(text.length).toBeLessThan(MOST);
  expect(text).toContain(`${field}.k0: unknown key`);
  expect(text).not.toContain(`${field}.k${KEYS - 1}:`);
  expect(text).toMatch(/and \d+ more problems not listed/);
  expect(text.split("\n").filter((line) => line !== "")).toHaveLength(1);
}

describe("a refusal of many unknown keys lists 100 and counts the rest", () => {
  it("the API's 400 for unknown keys in a selector, and at a body's top level", async () => {
    const t = await session.start();
    await publishRelease(t, "2.0.0");
    const waves = [{ name: "all", percent: 100 }];
    for (const path of ["/api/v1/rollouts/preview", "/api/v1/rollouts"]) {
      const res = await t.api("POST", path, {
        token: t.operator,
        body: { app: "web", release: "2.0.0", selector: unknownKeys(), waves },
      });
      expect(res.status).toBe(400);
      expectBounded(String(res.body.error), "body.selector");
    }
    const release = await t.api("POST", "/api/v1/releases", {
      token: t.ci,
      body: { ...unknownKeys(), app: "web", version: "3.0.0", manifest: 'version: "3.0.0"\n' },
    });
    expect(release.status).toBe(400);
    expectBounded(String(release.body.error), "body");
  });

  it("ship-hub rollout create --spec: exit 2, one bounded line", async () => {
    requireHubBin();
    const t = await session.start();
    await publishRelease(t, "2.0.0");
    const spec = join(t.dir, "spec.json");
    await writeFile(
      spec,
      JSON.stringify({ release: "2.0.0", selector: unknownKeys(), waves: [{ name: "all", percent: 100 }] }),
    );
    const run = await operatorCli(t, "rollout", "create", "--spec", spec);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    // The file's keys are named as in the file (`selector.k0`), and the count of the rest is said
    // bare, not as a field with no name (`; : and 4900 more`).
    expectBounded(run.stderr, "selector");
    expect(run.stderr).toMatch(/; and \d+ more problems not listed\n?$/);
    expect((await t.api<unknown[]>("GET", "/api/v1/rollouts", { token: t.operator })).body).toMatchObject({
      rollouts: [],
    });
  });
});
