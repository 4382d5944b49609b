/**
 * ship's copy of a merged config as the previous release shipped it (`<state>/apps/<app>/base/<sha256>`,
 * the three-way merge's base) with something else in its place: a FIFO made the update wait for a
 * writer for ever, a directory failed it with a bare "EISDIR". It is read by the rule for ship's own
 * records: `<copy> is damaged, it is not a file: ship's copy of settings.yaml …`, exit 2, one line,
 * before the hooks, the app and its state untouched; under `merge_strategy: replace` too (the merge
 * reads the copy for its report). Real CLI runs.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

/** ship's base copies of the app (one per merged file). */
async function baseCopies(): Promise<string[]> {
  const apps = join(app.root, "var", "apps");
  const [appState = ""] = await readdir(apps);
  const dir = join(apps, appState, "base");
  return (await readdir(dir)).map((name) => join(dir, name));
}

const manifest = (version: string, strategy: string, marker: string) =>
  `version: "${version}"\nfiles:\n  settings.yaml:\n    action: merge_yaml\n    merge_strategy: ${strategy}\nhooks:\n  pre_update:\n    - "echo pre >> ${marker}"\n`;

describe("the merge's base copy is not a file (real CLI)", () => {
  for (const strategy of ["preserve_user", "replace"]) {
    for (const kind of ["FIFO", "directory"] as const) {
      it(`${kind}, merge_strategy ${strategy}: exit 2 naming ship's copy, before the hooks, nothing changed`, async () => {
        const marker = join(app.root, "hooks.log");
        await app.release("r1", manifest("1.0.0", strategy, marker), {
          "settings.yaml": "a: 1\nb: 2\n",
          "app.txt": "v1\n",
        });
        const first = await runShip(["--config", app.config]);
        expect(first.code, first.stderr).toBe(0);
        const [copy] = await baseCopies();
        if (copy === undefined) throw new Error("no base copy");
        await rm(copy);
        if (kind === "FIFO") execFileSync("mkfifo", [copy]);
        else await mkdir(copy);
        await rm(marker, { force: true });
        await app.release("r2", manifest("2.0.0", strategy, marker), {
          "settings.yaml": "a: 1\nb: 3\n",
          "app.txt": "v2\n",
        });
        const run = await runShip(["--config", app.config], { timeoutMs: 20_000 });
        expect(run.code, run.stdout + run.stderr).toBe(2);
        // The run's outcome: one line on stdout (the log is on stderr).
        const lines = run.stdout.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(
          `${copy} is damaged, it is not a file: ship's copy of settings.yaml as a release shipped it, not yours: delete it and the merge goes on without it`,
        );
        expect(run.stdout + run.stderr).not.toMatch(/EISDIR|internal error/);
        expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
        expect(await readFile(join(app.appDir, "settings.yaml"), "utf8")).toBe("a: 1\nb: 2\n");
        await expect(readFile(marker, "utf8")).rejects.toThrow();
        expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");

        // The way out the message gives: without the copy the merge goes on.
        await rm(copy, { recursive: true });
        const after = await runShip(["--config", app.config]);
        expect(after.code, after.stderr).toBe(0);
        expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
      }, 60_000);
    }
  }
});

/**
 * The copy the install index names is gone (deleted by hand, a state directory restored from
 * elsewhere): the merge goes on two-way, keeping every value of the operator's copy, so a default
 * the release changed does not reach them. That went without a word, as a first install does.
 */
describe("the merge's base copy is gone (real CLI)", () => {
  const plain = (version: string, strategy: string) =>
    `version: "${version}"\nfiles:\n  settings.yaml:\n    action: merge_yaml\n    merge_strategy: ${strategy}\n`;
  type Report = {
    apps: {
      result: string;
      merges?: { file: string; kept: string[]; added: string[]; deleted?: string[]; warnings: string[] }[];
    }[];
  };

  it("preserve_user: merged two-way with a WARNING naming the file, the copy and the values in doubt; silent at the first install and once the copy is back", async () => {
    await app.release("r1", plain("1.0.0", "preserve_user"), { "settings.yaml": "a: 1\nb: 2\nc: 3\n" });
    const first = await runShip(["--config", app.config, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/is gone/);
    await writeFile(join(app.appDir, "settings.yaml"), "a: 10\nb: 2\nc: 3\n");
    const [copy] = await baseCopies();
    if (copy === undefined) throw new Error("no base copy");
    await rm(copy);
    await app.release("r2", plain("2.0.0", "preserve_user"), { "settings.yaml": "a: 1\nb: 20\nc: 3\n" });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    // Two-way: the previous release's b: 2 reads as the operator's, the new default does not come.
    expect(await readFile(join(app.appDir, "settings.yaml"), "utf8")).toBe("a: 10\nb: 2\nc: 3\n");
    const merges = (JSON.parse(run.stdout) as Report).apps[0]?.merges ?? [];
    expect(merges.map((m) => m.file)).toEqual(["settings.yaml"]);
    expect(merges[0]?.kept).toEqual(["a", "b"]);
    const warning = `ship's copy of the previous release's file is gone (${copy}), so the merge could not tell your values from that release's defaults: the values that differ from the release's were kept as yours (a, b)`;
    expect(merges[0]?.warnings).toEqual([expect.stringContaining(warning)]);
    expect(run.stderr).toContain(`merge of settings.yaml: ${warning}`);

    // This run saved the release's copy: the next merge is three-way again (a default it changes
    // follows it; the b kept as the operator's is theirs from now on), and says nothing.
    await app.release("r3", plain("3.0.0", "preserve_user"), { "settings.yaml": "a: 1\nb: 20\nc: 33\n" });
    const next = await runShip(["--config", app.config, "--json"]);
    expect(next.code, next.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "settings.yaml"), "utf8")).toBe("a: 10\nb: 2\nc: 33\n");
    expect((JSON.parse(next.stdout) as Report).apps[0]?.merges?.[0]?.warnings).toEqual([]);
  }, 60_000);

  const deletedCases = [
    {
      action: "merge_toml",
      file: "s.toml",
      v1: 'port = 80\nhost = "a"\n',
      mine: "port = 8080\n",
      v2: 'port = 81\nhost = "a"\nfresh = 1\n',
      back: 'port = 8080\nhost = "a"\nfresh = 1\n',
      kept: "port = 8080\nfresh = 1\n",
    },
    {
      action: "merge_json",
      file: "s.json",
      v1: '{\n  "port": 80,\n  "host": "a"\n}\n',
      mine: '{\n  "port": 8080\n}\n',
      v2: '{\n  "port": 81,\n  "host": "a",\n  "fresh": 1\n}\n',
      back: '{\n  "port": 8080,\n  "host": "a",\n  "fresh": 1\n}\n',
      kept: '{\n  "port": 8080,\n  "fresh": 1\n}\n',
    },
    {
      action: "merge_yaml",
      file: "s.yaml",
      v1: "port: 80\nhost: a\n",
      mine: "port: 8080\n",
      v2: "port: 81\nhost: a\nfresh: 1\n",
      back: "port: 8080\nhost: a\nfresh: 1\n",
      kept: "port: 8080\nfresh: 1\n",
    },
  ];
  for (const { action, file, v1, mine, v2, back, kept } of deletedCases) {
    it(`update_only, ${action}: a key the operator deleted stays deleted; without the copy it comes back, named in a WARNING`, async () => {
      // Was: `host`, deleted by the operator, came back reported `added` whether or not the copy was there, with no word.
      const manifest = (version: string) =>
        `version: "${version}"\nfiles:\n  ${file}: { action: ${action}, merge_strategy: update_only }\n`;
      const update = async (gone: boolean) => {
        await app.cleanup();
        app = await localApp();
        await app.release("r1", manifest("1.0.0"), { [file]: v1 });
        expect((await runShip(["--config", app.config])).code).toBe(0);
        await writeFile(join(app.appDir, file), mine);
        const [copy = ""] = await baseCopies();
        if (gone) await rm(copy);
        await app.release("r2", manifest("2.0.0"), { [file]: v2 });
        const run = await runShip(["--config", app.config, "--json"]);
        expect(run.code, run.stderr).toBe(0);
        const merges = (JSON.parse(run.stdout) as Report).apps[0]?.merges ?? [];
        return { copy, run, merge: merges[0] };
      };
      const there = await update(false);
      expect(await readFile(join(app.appDir, file), "utf8")).toBe(kept);
      expect([there.merge?.added, there.merge?.deleted, there.merge?.warnings]).toEqual([
        ["fresh"],
        ["host"],
        [],
      ]);

      const gone = await update(true);
      expect(await readFile(join(app.appDir, file), "utf8")).toBe(back);
      const warning = `ship's copy of the previous release's file is gone (${gone.copy}), so the merge could not tell the keys you had deleted from keys new in this release: the keys your copy lacked were added (host, fresh), so any of them you had deleted is back: delete it again`;
      expect(gone.merge?.warnings).toEqual([warning]);
      expect(gone.run.stderr).toContain(`merge of ${file}: ${warning}`);
    }, 60_000);
  }

  it("replace: the copy would change nothing, and nothing is said of it", async () => {
    await app.release("r1", plain("1.0.0", "replace"), { "settings.yaml": "a: 1\nb: 2\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const [copy] = await baseCopies();
    if (copy === undefined) throw new Error("no base copy");
    await rm(copy);
    await app.release("r2", plain("2.0.0", "replace"), { "settings.yaml": "a: 1\nb: 20\n" });
    const run = await runShip(["--config", app.config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "settings.yaml"), "utf8")).toBe("a: 1\nb: 20\n");
    expect(run.stdout + run.stderr).not.toMatch(/is gone/);
  }, 60_000);

  // Named by its sha256, it was read whatever it held: edited to the operator's value, the three-way
  // merge took that value for the previous release's default and replaced it with the release's.
  for (const damage of ["edited", "cut short"] as const)
    it(`a copy ${damage} since is not used: the merge goes as if it were gone, keeps the operator's values and says so naming it`, async () => {
      const marker = join(app.root, "hooks.log");
      await app.release("r1", manifest("1.0.0", "preserve_user", marker), {
        "settings.yaml": "a: 1\nb: 2\n",
      });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      await writeFile(join(app.appDir, "settings.yaml"), "a: 5\nb: 2\n");
      const [copy] = await baseCopies();
      if (copy === undefined) throw new Error("no base copy");
      await writeFile(copy, damage === "edited" ? "a: 5\nb: 2\n" : "a: 5\n");
      await app.release("r2", manifest("2.0.0", "preserve_user", marker), {
        "settings.yaml": "a: 1\nb: 3\n",
      });
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "settings.yaml"), "utf8")).toMatch(/^a: 5$/m);
      expect(run.stdout + run.stderr).toContain(
        `ship's copy of the previous release's file (${copy}) is not the bytes its name records (edited or cut short since), so the merge did not use it`,
      );
      expect((await app.state()).sources.myapp?.current_version).toBe("2.0.0");
    });
});
