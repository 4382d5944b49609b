/**
 * Promise 2 ("backups cost what changes"): the hashes a source records while writing the release
 * reach the planner, so an update does not read the whole release a second time.
 */
import { createHash } from "node:crypto";
import { chmod, mkdir, open, readFile, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeRelease, readInstallIndex } from "../../../agent/apply/index.js";
import { defaultPorts } from "../../../agent/pipeline/default-ports.js";
import { appStateDir } from "../../../agent/pipeline/paths.js";
import type { PipelinePorts } from "../../../agent/pipeline/ports.js";
import type { FetchedRelease, ReleaseSource } from "../../../agent/sources/types.js";
import { createSandbox, hashTree, type Sandbox, writeTree } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

function sha256(data: string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** `<root>/releases/<top>.tar.gz` holding `<top>/` with `files` and a manifest, as CI would pack it. */
async function archiveRelease(top: string, version: string, files: Record<string, string>): Promise<string> {
  const releases = join(box.root, "releases");
  await writeTree(join(releases, top), { ...files, "update-manifest.yaml": `version: "${version}"\n` });
  const file = join(releases, `${top}.tar.gz`);
  await createTar({ gzip: true, file, cwd: releases, portable: true }, [top]);
  return file;
}

/** What the install index says the current release installed: rel path → sha256. */
async function indexedHashes(releasePath: string): Promise<Record<string, string>> {
  const index = await readInstallIndex(appStateDir(box.config(releasePath), box.appDir));
  return Object.fromEntries([...(index?.files ?? [])].map(([rel, entry]) => [rel, entry.sha256]));
}

describe("an update from a local archive", () => {
  it("records in the install index the sha256 of every installed file", async () => {
    const v1 = await archiveRelease("myapp-1.0.0", "1.0.0", { "app.py": "v1\n", "lib/a.py": "A = 1\n" });
    expect((await box.run(v1)).exitCode).toBe(0);
    const v2 = await archiveRelease("myapp-2.0.0", "2.0.0", {
      "app.py": "v2\n",
      "lib/a.py": "A = 1\n",
      "lib/b.py": "B = 2\n",
    });
    const second = await box.run(v2);
    expect(second.exitCode).toBe(0);
    expect(second.apps[0]?.toVersion).toBe("2.0.0");
    const appFiles = Object.entries(await hashTree(box.appDir)).filter(([rel]) => !rel.endsWith("/"));
    expect(await indexedHashes(v2)).toEqual(Object.fromEntries(appFiles));
    expect(await indexedHashes(v2)).toEqual({
      "app.py": sha256("v2\n"),
      "lib/a.py": sha256("A = 1\n"),
      "lib/b.py": sha256("B = 2\n"),
    });
  });
});

describe("the planner takes the source's hashes", () => {
  it("installs under the hash the source recorded, not one read back from the staged file", async () => {
    const v1 = await archiveRelease("myapp-1.0.0", "1.0.0", { "app.py": "as packed\n", "other.py": "x\n" });
    // A real local source; once it has staged the release, the staged app.py changes behind its back.
    // Only a pipeline that trusts the source's map can then record the packed bytes' hash.
    const real = defaultPorts();
    const ports: PipelinePorts = {
      ...real,
      openSource: (name, source, context) => {
        const inner = real.openSource(name, source, context);
        return tamperAfterFetch(inner, "app.py", "changed after staging\n");
      },
    };
    const run = await box.run(v1, { ports });
    expect(run.exitCode).toBe(0);
    const indexed = await indexedHashes(v1);
    expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("changed after staging\n");
    expect(indexed["app.py"]).toBe(sha256("as packed\n"));
    expect(indexed["other.py"]).toBe(sha256("x\n"));
  });

  it("describeRelease never opens a file the map names, and hashes every file it does not", async () => {
    const dir = join(box.root, "staged");
    await mkdir(dir);
    await writeFile(join(dir, "plain.txt"), "not in the map\n");
    await symlink("plain.txt", join(dir, "link"));
    // 64 GiB of holes, unreadable to non-root: reading it fails at once or takes minutes.
    const huge = join(dir, "huge.bin");
    await (await open(huge, "w")).close();
    await truncate(huge, 64 * 1024 ** 3);
    await chmod(huge, 0o000);
    const recorded = sha256("what the source wrote");
    const knownHashes = new Map([
      ["huge.bin", recorded],
      // Never trusted for a symlink: its hash is its target's text.
      ["link", sha256("a lie")],
    ]);
    try {
      const tree = await withinSeconds(3, describeRelease(dir, { knownHashes }));
      expect(tree.files.get("huge.bin")).toMatchObject({
        type: "file",
        sha256: recorded,
        size: 64 * 1024 ** 3,
      });
      expect(tree.files.get("plain.txt")?.sha256).toBe(sha256("not in the map\n"));
      expect(tree.files.get("link")?.sha256).toBe(sha256("symlink:plain.txt"));
    } finally {
      // Ends any read still in flight if the map was ignored.
      await truncate(huge, 0);
    }
  });
});

function tamperAfterFetch(inner: ReleaseSource, rel: string, content: string): ReleaseSource {
  return {
    name: inner.name,
    check: () => inner.check(),
    commit: (release) => inner.commit(release),
    async fetch(stagingDir, options): Promise<FetchedRelease> {
      const release = await inner.fetch(stagingDir, options);
      expect(release.fileHashes?.get(rel)).toBeDefined();
      await writeFile(join(release.dir, rel), content);
      return release;
    },
  };
}

function withinSeconds<T>(seconds: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still running after ${seconds} s: the release was read`)),
      seconds * 1000,
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
