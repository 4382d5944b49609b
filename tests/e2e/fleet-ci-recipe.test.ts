/**
 * The README's two CI recipes ("CI recipe": plain shell, GitHub Actions), run as written against a
 * real hub, a real git repository with a bare origin and the built `ship` on PATH. Each release
 * must publish, twice in a row, and the archive must hold only the app. Before: the second run of
 * the plain recipe was refused by the hub (409: bump gives the same version while nothing is
 * tagged), and the Actions recipe wrote key.pem and ci.token into the checkout it packs (`http`
 * refused the key, exit 2; the token would have reached every server).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { list, type ReadEntry } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Fleet } from "./fleet.js";

const SHIP_MAIN = resolve("dist/agent/cli/main.cjs");

/** The fenced block after `marker` in the README (its body, without the fences). */
function fenced(readme: string, marker: string, fence: string): string {
  const at = readme.indexOf(marker);
  const start = readme.indexOf(`${fence}\n`, at);
  const end = readme.indexOf("\n```", start + fence.length);
  if (at < 0 || start < 0 || end < 0) throw new Error(`README: no ${fence} block after ${marker}`);
  return readme.slice(start + fence.length + 1, end);
}

/** The `run: |` script of the Actions recipe, dedented. */
function actionsScript(yaml: string): string {
  const lines = yaml.split("\n");
  const from = lines.findIndex((l) => l.trim() === "- run: |");
  const body: string[] = [];
  for (const line of lines.slice(from + 1)) {
    if (/^\s*env:/.test(line)) break;
    body.push(line.replace(/^ {10}/, ""));
  }
  return body.join("\n");
}

describe("the README's CI recipes, as written (real hub, real git)", () => {
  let fleet: Fleet;
  let root: string;
  let env: NodeJS.ProcessEnv;
  let readme: string;
  const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, env }).toString().trim();

  // A hub each: both recipes publish myapp 0.1.1.
  beforeEach(async () => {
    fleet = await Fleet.start({ agents: 0 });
    root = join(fleet.dir, "ci");
    await mkdir(join(root, "bin"), { recursive: true });
    await writeFile(join(root, "bin/ship"), `#!/bin/sh\nexec "${process.execPath}" "${SHIP_MAIN}" "$@"\n`);
    await chmod(join(root, "bin/ship"), 0o755);
    env = { ...process.env, PATH: `${join(root, "bin")}:${process.env.PATH}` };
    readme = await readFile(resolve("README.md"), "utf8");
    execFileSync(process.execPath, [SHIP_MAIN, "release", "keygen", "--out", join(root, "keys")]);
    await writeFile(join(root, "ci.token"), fleet.ci, { mode: 0o600 });
  }, 60_000);
  afterEach(async () => {
    await fleet?.close();
  });

  /** A checkout of `app`'s repository with a bare origin, on 0.1.0, tagged. */
  async function checkout(app: string): Promise<string> {
    const origin = join(root, `${app}.git`);
    git(root, "init", "-q", "--bare", "-b", "main", origin);
    const dir = join(root, app);
    git(root, "clone", "-q", origin, dir);
    git(dir, "config", "user.name", "CI");
    git(dir, "config", "user.email", "ci@example.com");
    git(dir, "checkout", "-q", "-b", "main");
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "0.1.0"\n');
    await writeFile(join(dir, "main.py"), "print('v0.1.0')\n");
    await writeFile(join(dir, ".gitignore"), "dist/\n");
    git(dir, "add", ".");
    git(dir, "commit", "-qm", "init");
    git(dir, "tag", "v0.1.0");
    git(dir, "push", "-q", "origin", "main", "--tags");
    return dir;
  }

  async function published(app: string): Promise<string[]> {
    type Releases = { releases: { app: string; version: string }[] };
    const get = () => fleet.api<Releases>("GET", `/releases?app=${app}`);
    // After the recipe's ~10 s the hub has closed the test's idle keep-alive socket; undici may
    // send on it before it sees the close ("other side closed"). A fresh socket answers.
    const { releases } = await get().catch(get);
    return releases
      .filter((r) => r.app === app)
      .map((r) => r.version)
      .sort();
  }

  async function archived(file: string): Promise<string[]> {
    const paths: string[] = [];
    await list({ file, onReadEntry: (e: ReadEntry) => paths.push(e.path) });
    return paths.sort();
  }

  it("plain shell: two runs publish two versions and tag each", { timeout: 120_000 }, async () => {
    const app = await checkout("app");
    const script = fenced(readme, "Plain shell (any CI):", "```sh")
      .split("\n")
      .filter((l) => !l.startsWith("npm ci"))
      .join("\n");
    const run = () =>
      spawnSync("bash", ["-e", "-c", script], {
        cwd: root,
        env: {
          ...env,
          SHIP_SIGNING_KEY_FILE: join(root, "keys/ship-release.key"),
          SHIP_HUB_URL: fleet.hubUrl,
          SHIP_CI_TOKEN_FILE: join(root, "ci.token"),
        },
        encoding: "utf8",
      });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    await writeFile(join(app, "main.py"), "print('fixed')\n");
    git(app, "commit", "-qam", "fix");
    const second = run();
    expect(second.status, second.stderr).toBe(0);
    expect(await published("myapp")).toEqual(["0.1.1", "0.1.2"]);
    expect(git(join(root, "app.git"), "tag", "--list")).toBe("v0.1.0\nv0.1.1\nv0.1.2");
    expect(await archived(join(app, "dist/myapp-0.1.2.tar.gz"))).toEqual([
      "myapp-0.1.2/",
      "myapp-0.1.2/.gitignore",
      "myapp-0.1.2/main.py",
      "myapp-0.1.2/update-manifest.yaml",
    ]);
  });

  it("GitHub Actions: publishes, and neither the key nor the CI token is in the archive", {
    timeout: 120_000,
  }, async () => {
    const app = await checkout("gh");
    // The runner's checkout has no identity of its own; the recipe sets one.
    git(app, "config", "--unset", "user.name");
    git(app, "config", "--unset", "user.email");
    const script = actionsScript(fenced(readme, "GitHub Actions:", "```yaml"));
    const runnerTemp = join(root, "runner-temp");
    await mkdir(runnerTemp);
    const run = spawnSync("bash", ["-e", "-c", script], {
      cwd: app,
      env: {
        ...env,
        HOME: root,
        GIT_CONFIG_GLOBAL: "/dev/null",
        RUNNER_TEMP: runnerTemp,
        SIGNING_KEY: await readFile(join(root, "keys/ship-release.key"), "utf8"),
        CI_TOKEN: fleet.ci,
        HUB_URL: fleet.hubUrl,
      },
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    expect(await published("myapp")).toContain("0.1.1");
    const files = await archived(join(app, "dist/myapp-0.1.1.tar.gz"));
    expect(files.filter((f) => /key\.pem|ci\.token/.test(f))).toEqual([]);
    expect(git(join(root, "gh.git"), "tag", "--list")).toContain("v0.1.1");
  });
});
