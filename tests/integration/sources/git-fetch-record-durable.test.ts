/**
 * The record of a fetch held to max_download_mb (`.git/ship-fetch.json`) was renamed into place
 * unsynced. git fsyncs the pack a fetch keeps (core.fsync's default) but not the refs: after a power
 * cut the pack could be on disk while the record was lost or empty. Lost, the next fetch found the
 * objects there and installed past the limit; empty, every run failed "not a record of ship's
 * fetch" until an operator removed it. Now every record that takes the name is whole on disk first
 * (its data fsynced before the rename), and the first one's directory entry before git starts.
 * Seen with strace on a real ship run fetching a real repository over file://.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { SHIP_BIN } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

const run = promisify(execFile);

describe.skipIf(!hasProgram("git") || !hasProgram("strace"))(
  "git fetch record: whole on disk before git runs",
  () => {
    let root: string;
    let repos: Repos;
    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "ship-fetch-record-"));
      repos = await makeRepos(join(root, "repos"));
      await mkdir(join(root, "app"));
    });
    afterAll(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it("fsyncs each record before it is renamed over ship-fetch.json, and the .git directory before git fetch starts", async () => {
      const config = await writeGitConfig(root, repos.clone, join(root, "app"), 'branch = "main"');
      await commitFiles(repos.dev, "1.1.0", { "app.txt": "v2\n" });
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      const trace = join(root, "strace.txt");
      const traced = [
        "-f",
        "-y",
        "-qq",
        "-o",
        trace,
        "-e",
        "trace=fsync,fdatasync,rename,renameat,renameat2,execve",
      ];
      await run("strace", [...traced, process.execPath, SHIP_BIN, "--config", config], {
        env: { ...process.env },
        maxBuffer: 16 << 20,
      }).catch((error: { stdout?: string; stderr?: string }) => {
        throw new Error(`ship failed: ${error.stdout ?? ""}${error.stderr ?? ""}`);
      });
      const lines = (await readFile(trace, "utf8")).split("\n");
      const gitDir = join(repos.clone, ".git");
      const record = join(gitDir, "ship-fetch.json");
      const synced = new Set<string>();
      let renames = 0;
      let dirSynced = false;
      let fetchStarted = false;
      for (const line of lines) {
        const sync = /\b(?:fsync|fdatasync)\(\d+<([^>]+)>/.exec(line);
        if (sync !== null) {
          synced.add(sync[1] as string);
          if (sync[1] === gitDir && renames > 0 && !fetchStarted) dirSynced = true;
        }
        const rename = /\brename(?:at2?)?\((?:\w+, )?"([^"]+)", (?:\w+(?:<[^>]*>)?, )?"([^"]+)"/.exec(line);
        if (rename !== null && rename[2] === record) {
          renames++;
          // Its bytes are on disk before its name is: a power cut leaves the old record or this one.
          expect(synced.has(rename[1] as string), `${rename[1]} renamed unsynced: ${line}`).toBe(true);
        }
        if (/execve\("[^"]*git", \[[^\]]*"fetch"/.test(line) && renames > 0) fetchStarted = true;
      }
      expect(fetchStarted).toBe(true);
      // The record, then the pid update once git runs.
      expect(renames).toBeGreaterThanOrEqual(2);
      expect(dirSynced).toBe(true);
      expect(await readFile(join(root, "app", "app.txt"), "utf8")).toBe("v2\n");
    });
  },
);
