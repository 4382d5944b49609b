/**
 * A `ship --rollback` that fails must not leave the state reading as a success: with a damaged
 * journal (exit 3) the state kept `last_result: "updated"` beside the journal error in `last_error`,
 * and the agent's hello showed "updated". Now "restore_failed" (needs a person). A rollback refused
 * as bad input (exit 2: nothing moved) records nothing, as a run refused for bad input does: it
 * wrote "failed_unchanged" over the last update's result only for some refusals (a damaged
 * index.json, a chain with a gap) and not others (a damaged meta.json, no such id), and the hub
 * then showed the agent as failed. One that fails before anything moves (exit 1) still records
 * "failed_unchanged" (tests/integration/apply/rollback-over-journal.test.ts).
 */
import { readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";
import { appTxtOnly, installedVersionsForFile } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;

installedVersionsForFile(
  ["1", "2", "3"],
  (made) => {
    app = made;
  },
  {
    files: appTxtOnly,
    extra: async (app) => {
      expect((await app.state()).sources.myapp?.last_result).toBe("updated");
    },
  },
);

type Listed = { id: string; path: string; version: string | null }[];

async function backups(): Promise<Listed> {
  const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
  return JSON.parse(list.stdout) as Listed;
}

describe("a failed --rollback in the state file (real CLI)", () => {
  it("a damaged journal (exit 3): last_result restore_failed, not the update's 'updated'", async () => {
    const [newest] = await backups();
    const apps = join(app.root, "var/apps");
    const journal = join(apps, String((await readdir(apps))[0]), "journal.json");
    await writeFile(journal, `{"kind":"update",`);
    const run = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    const state = (await app.state()).sources.myapp;
    expect(state?.last_result).toBe("restore_failed");
    expect(String(state?.last_error)).toContain(`${journal} is damaged`);
  });

  const refusals = [
    {
      what: "a newer backup deleted by hand (a gap in the chain)",
      damage: async (list: Listed) => rm(String(list[0]?.path), { recursive: true }),
      pick: (list: Listed) => String(list.find((b) => b.version === "1.0.0")?.id),
    },
    {
      what: "its saved install index deleted",
      damage: async (list: Listed) => rm(join(String(list[0]?.path), "index.json")),
      pick: (list: Listed) => String(list[0]?.id),
    },
    {
      what: "its saved manifest truncated",
      damage: async (list: Listed) => truncate(join(String(list[0]?.path), "manifest.json"), 9),
      pick: (list: Listed) => String(list[0]?.id),
    },
    {
      what: "its meta.json damaged",
      damage: async (list: Listed) => writeFile(join(String(list[0]?.path), "meta.json"), "{"),
      pick: (list: Listed) => String(list[0]?.id),
    },
    { what: "no such backup", damage: async () => undefined, pick: () => "myapp-19990101T000000Z" },
  ] as const;

  it.each(refusals)(
    "refused as bad input ($what, exit 2): the state file is left as it was",
    async ({ damage, pick }) => {
      const list = await backups();
      await damage(list);
      const stateFile = join(app.root, "var/state.json");
      const before = { app: await snapshot(app.appDir), state: await readFile(stateFile, "utf8") };
      const run = await runShip(["--config", app.config, "--rollback", pick(list)]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect({ app: await snapshot(app.appDir), state: await readFile(stateFile, "utf8") }).toEqual(before);
      const state = (await app.state()).sources.myapp;
      expect(state?.last_result).toBe("updated");
      expect(state?.last_error).toBeNull();
    },
  );
});
