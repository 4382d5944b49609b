import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubReleaseSource } from "../../../agent/daemon/hub-release-source.js";
import { AgentConfig, type Source } from "../../../shared/config/schema.js";
import { BadInputError, VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import type { DeployRelease } from "../../../shared/protocol/messages.js";
import { APP, writeRelease } from "../../e2e/fleet.js";
import { hasProgram } from "../../support/require-program.js";

describe.skipIf(!hasProgram("git"))("hub release source: a git release with this host's clone", () => {
  let dir: string;
  let commits: string[];
  let config: AgentConfig;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", args, {
      cwd,
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "ci",
        GIT_AUTHOR_EMAIL: "ci@example.test",
        GIT_COMMITTER_NAME: "ci",
        GIT_COMMITTER_EMAIL: "ci@example.test",
      },
    }).trim();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-hub-git-"));
    const origin = join(dir, "origin");
    await mkdir(origin);
    git(origin, "init", "-q", "-b", "main");
    commits = [];
    for (const version of ["5.0.0", "6.0.0"]) {
      await writeRelease(origin, { version });
      git(origin, "add", "-A");
      git(origin, "commit", "-q", "-m", `release ${version}`);
      commits.push(git(origin, "rev-parse", "HEAD"));
    }
    git(dir, "clone", "-q", origin, join(dir, "clone"));
    config = AgentConfig.parse({
      general: { state_file: join(dir, "state", "state.json"), backup_dir: join(dir, "state", "backups") },
      sources: {
        [APP]: {
          type: "git",
          app_dir: join(dir, "app"),
          local_path: join(dir, "clone"),
          remote: "origin",
          branch: "main",
        },
      },
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sourceFor = async (
    version: string,
    commit: string,
    source: Source = config.sources[APP] as Source,
  ) => {
    const release: DeployRelease = {
      id: `r-${version}`,
      app: APP,
      version,
      manifest: `version: "${version}"\n`,
      source: { type: "git", commit },
    };
    return new HubReleaseSource({
      app: APP,
      release,
      source,
      config,
      hubUrl: "http://127.0.0.1:9",
      token: "never-sent-to-git",
      context: { stateDir: join(dir, "state", "sources"), log: memoryLogger() },
    });
  };

  it("exports exactly the pinned commit's tree (not the branch head) and moves the clone there on commit", async () => {
    const source = await sourceFor("5.0.0", commits[0]?.slice(0, 12) ?? "");
    expect((await source.check()).available).toBe(true);
    const staging = join(dir, "staging-1");
    const fetched = await source.fetch(staging);
    expect(fetched.id).toBe(commits[0]);
    expect(await readFile(join(staging, "app.txt"), "utf8")).toBe("5.0.0\n");
    await source.commit(fetched);
    expect(git(join(dir, "clone"), "rev-parse", "HEAD")).toBe(commits[0]);
  });

  it("refuses a commit whose manifest is not the version the hub announced", async () => {
    const source = await sourceFor("9.9.9", commits[1] ?? "");
    await expect(source.fetch(join(dir, "staging-2"))).rejects.toBeInstanceOf(VerificationError);
  });

  it("refuses a git release on a host whose source for the app is not a clone", async () => {
    const local: Source = AgentConfig.parse({
      sources: { [APP]: { type: "local", app_dir: join(dir, "app"), path: join(dir, "origin") } },
    }).sources[APP] as Source;
    const source = await sourceFor("6.0.0", commits[1] ?? "", local);
    const error = await source.fetch(join(dir, "staging-3")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect(String(error)).toMatch(/no clone/);
  });
});
