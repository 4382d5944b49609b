/**
 * A release's update-manifest.yaml nested thousands of levels deep ran the YAML library's recursion
 * out of stack on the agent: "FILE:2:801 YAML: Maximum call stack size exceeded", where the hub
 * refuses a manifest past 32 levels as "nests deeper than 32 levels". One rule now, wherever a
 * manifest is read: `ship --test-manifest`, a run over a local directory, a local .tar.gz, an http
 * url or a git clone, and `ship release http`/`git`/`sign`/`publish`. Each says exit 2 naming the
 * file and how deep it may nest, nothing changed. Real CLI, real git, a real HTTP server.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { httpApp } from "../../support/http-app.js";
import { hasProgram } from "../../support/require-program.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar } from "../../unit/sources/tar-builder.js";
import { manifestRepo, signingKeyForBlock } from "../release/manifest-release-repo.js";
import { git, makeRepos, type Repos, writeGitConfig } from "../sources/git-repos.js";
import { type LocalApp, localApp } from "./local-app.js";

const TOO_DEEP = "nests deeper than 32 levels";

/** `levels` lines, each indented one space deeper than the one before (block style nests by indentation). */
const blockLevels = (levels: number, item: (depth: number) => string): string =>
  Array.from({ length: levels }, (_, depth) => `${" ".repeat(depth + 1)}${item(depth)}\n`).join("");

/**
 * Manifests nested past the limit, every way YAML nests, small enough to pack (an archive of a
 * megabyte of indentation is refused as a decompression bomb first). `x-` keys are no settings, so
 * only the depth is wrong.
 */
const PACKED: [string, (version: string) => string][] = [
  ["flow lists", (v) => `version: "${v}"\nx-deep: ${"[".repeat(5000)}${"]".repeat(5000)}\n`],
  ["flow mappings", (v) => `version: "${v}"\nx-deep: ${"{a: ".repeat(5000)}1${"}".repeat(5000)}\n`],
  ["block lists on one line", (v) => `version: "${v}"\nx-deep:\n  ${"- ".repeat(5000)}1\n`],
  // Just past the limit: no stack runs out, the rule is the limit.
  ["33 levels", (v) => `version: "${v}"\nx-deep:\n${blockLevels(32, (d) => `k${d}:`)}`],
];
/** A release .tar.gz holding `manifest` and app.txt (v2). */
const releaseArchive = (manifest: string): Buffer =>
  gzipSync(
    buildTar([
      { path: "update-manifest.yaml", body: manifest },
      { path: "app.txt", body: "v2\n" },
    ]),
  );

const DEEP: [string, (version: string) => string][] = [
  ...PACKED,
  ["block mappings", (v) => `version: "${v}"\nx-deep:\n${blockLevels(1500, (d) => `k${d}:`)}`],
  ["complex keys", (v) => `version: "${v}"\nx-deep:\n${blockLevels(1500, () => "?")}`],
];

describe("an update manifest nested past 32 levels (real CLI)", () => {
  let app: LocalApp;
  // Release v1 (1.0.0) installed from a local directory, put back as built before each test.
  builtOnceRestoredEachTest(async () => {
    app = await localApp();
    await app.release("v1", 'version: "1.0.0"\n');
    expect((await runShip(["--config", app.config])).code).toBe(0);
    return app.root;
  });

  it.each(DEEP)("with %s: --test-manifest is exit 2 naming the file and the limit", async (_what, deep) => {
    const file = join(app.root, "update-manifest.yaml");
    await writeFile(file, deep("1.0.0"));
    const run = await runShip(["--test-manifest", file]);
    expect(run.stderr).toBe(`ship: ${file} ${TOO_DEEP}\n`);
    expect(run.code).toBe(2);
  });

  it("at 32 levels the manifest is accepted", async () => {
    const file = join(app.root, "update-manifest.yaml");
    await writeFile(file, `version: "1.0.0"\nx-deep:\n${blockLevels(31, (d) => `k${d}:`)}`);
    const run = await runShip(["--test-manifest", file]);
    expect(run.code, run.stderr).toBe(0);
  });

  it.each(DEEP)("with %s in a local release directory: exit 2, the app unchanged", async (_what, deep) => {
    const v2 = await app.release("v2", deep("2.0.0"), { "app.txt": "v2\n" });
    const run = await runShip(["--config", app.config]);
    expect(run.stdout).toBe(`myapp: ${join(v2, "update-manifest.yaml")} ${TOO_DEEP}\n`);
    expect(run.code).toBe(2);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");
  });

  it.each(PACKED)("with %s in a local .tar.gz: exit 2, the app unchanged", async (_what, deep) => {
    const v1 = join(app.root, "v1");
    const archive = join(app.root, "myapp-2.0.0.tar.gz");
    await writeFile(archive, releaseArchive(deep("2.0.0")));
    await writeFile(app.config, (await readFile(app.config, "utf8")).replace(v1, archive));
    const run = await runShip(["--config", app.config]);
    expect(run.stdout).toMatch(new RegExp(`^myapp: \\S*update-manifest\\.yaml ${TOO_DEEP}\\n$`));
    expect(run.code).toBe(2);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");
  });
});

describe("a deep manifest from an http url (real server)", () => {
  let root: string;
  const routes = new Map<string, { body: Buffer }>();
  const server = fileServerForFile(routes);
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-deep-http-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it.each(PACKED)("with %s: exit 2 naming the manifest, the app unchanged", async (_what, deep) => {
    routes.set("/myapp-2.0.0.tar.gz", { body: releaseArchive(deep("2.0.0")) });
    const { config, app } = await httpApp(root, `${server.url}/myapp-2.0.0.tar.gz`);
    await writeFile(join(app, "app.txt"), "v1\n");
    const run = await runShip(["--config", config]);
    expect(run.stdout).toMatch(new RegExp(`^web: \\S*update-manifest\\.yaml ${TOO_DEEP}\\n$`));
    expect(run.code).toBe(2);
    expect(await readdir(app)).toEqual(["app.txt"]);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1\n");
  });
});

describe.skipIf(!hasProgram("git"))("a deep manifest in a git release (real clone)", () => {
  let root: string;
  let repos: Repos;
  let app: string;
  let config: string;
  // The repositories with 1.0.0 installed from the agent's clone, put back as built before each test.
  builtOnceRestoredEachTest(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-deep-git-"));
    repos = await makeRepos(join(root, "repos"));
    app = join(root, "app");
    await mkdir(app);
    config = await writeGitConfig(root, repos.clone, app, 'branch = "main"');
    expect((await runShip(["--config", config])).code).toBe(0);
    return root;
  });

  it.each(DEEP)("with %s: exit 2 naming the manifest, the app unchanged", async (_what, deep) => {
    await writeFile(join(repos.dev, "update-manifest.yaml"), deep("2.0.0"));
    await writeFile(join(repos.dev, "app.txt"), "v2\n");
    await git(repos.dev, "commit", "-q", "-am", "2.0.0");
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const run = await runShip(["--config", config]);
    expect(run.stdout).toMatch(new RegExp(`^web: \\S*update-manifest\\.yaml ${TOO_DEEP}\\n$`));
    expect(run.code).toBe(2);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1\n");
  });
});

describe.skipIf(!hasProgram("git"))("ship release: a deep manifest", () => {
  const repo = manifestRepo("ship-release-deep-");
  const signing = signingKeyForBlock("ship-release-deep-keys-");

  it.each(DEEP)("with %s: http, git, sign and publish refuse it, nothing written", async (what, deep) => {
    const { file, head } = await repo.commit(deep("0.1.0"));
    await repo.expectRefusedByHttpAndGit(`${file} ${TOO_DEEP}\n`, head);

    const { key } = signing;
    // An archive CI packed with its own tar: sign and publish read the manifest inside it.
    const archive = join(repo.dir, "myapp-0.1.0.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", repo.repo, "update-manifest.yaml", "app.py"]);
    const inside = `${archive}!update-manifest.yaml ${TOO_DEEP}\n`;
    const packed = PACKED.some(([name]) => name === what);
    for (const [args, said] of [
      ...(packed ? [[[archive], inside] as const] : []),
      [["--git-commit", head, "--manifest", file], `${file} ${TOO_DEEP}\n`] as const,
    ]) {
      const sig = join(repo.dir, "r.sig");
      const signed = await runShip(["release", "sign", ...args, "--key", key, "--out", sig]);
      expect(signed.stderr).toBe(`ship release sign: ${said}`);
      expect(signed.code).toBe(2);
      expect(existsSync(sig)).toBe(false);
    }
  });
});
