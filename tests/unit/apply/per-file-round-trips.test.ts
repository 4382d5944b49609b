/**
 * The steps an update runs once per changed file make no thread-pool round trip per file: each
 * awaited fs/promises call costs ~3x the system call's own CPU (a 1 % update of 20,000 files made
 * ~1,400 of them: the immutable check's lstat + access, the replaced files' owner lstats, saved.json's
 * lstats, the trash's removal). Counted on real files with async_hooks: every fs/promises call and
 * every callback-style fs call creates one FSREQPROMISE / FSREQCALLBACK resource.
 */
import { createHook } from "node:async_hooks";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkImmutable } from "../../../agent/apply/check-immutable.js";
import { stageReplacedOwnership } from "../../../agent/apply/replaced-file-owner.js";
import { ruleFor } from "../../../agent/apply/rules.js";
import type { PlanStep } from "../../../agent/apply/types.js";
import { writeSavedSizes } from "../../../agent/backup/saved-sizes.js";
import { removeTree } from "../../../agent/tree/remove-tree.js";
import { Manifest } from "../../../shared/manifest/schema.js";

const FILES = 300;
const rels = Array.from({ length: FILES }, (_, i) => `d${i % 3}/f${i}.dat`);
const manifest = Manifest.parse({ version: "2.0.0" });

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ship-round-trips-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Writes every rel under `dir` with its own bytes. */
function tree(dir: string, version: string): string {
  for (const rel of rels) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), `${rel} ${version}\n`);
  }
  return dir;
}

/** How many fs requests went through libuv's thread pool while `work` ran. */
async function fsRequests(work: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === "FSREQPROMISE" || type === "FSREQCALLBACK") count++;
    },
  });
  hook.enable();
  try {
    await work();
  } finally {
    hook.disable();
  }
  return count;
}

// A handful of requests is the step's own (a record written, a directory listed); one per file
// (300 here) was the cost this guards against.
const FEW = 20;

describe("per-file steps of an update make no thread-pool round trip per file", () => {
  it("the immutable check asks every changed file and its directory, synchronously", async () => {
    const appDir = tree(join(root, "app"), "1.0.0");
    const releaseDir = tree(join(root, "release"), "2.0.0");
    const stateDir = join(root, "state");
    mkdirSync(stateDir);
    // No install index: every release file counts as changed and is asked.
    const requests = await fsRequests(() => checkImmutable({ manifest, releaseDir, appDir, stateDir }));
    expect(requests).toBeLessThan(FEW);
  });

  it("the replaced files' owners are read synchronously", async () => {
    const appDir = tree(join(root, "app"), "1.0.0");
    const stagingDir = tree(join(root, "staging"), "2.0.0");
    const steps: PlanStep[] = rels.map((rel) => ({
      kind: "replace",
      rel,
      entry: { type: "file", sha256: "", size: 0, mode: 0o644 },
      rule: ruleFor(manifest, rel),
    }));
    let notKept: unknown;
    const requests = await fsRequests(async () => {
      notKept = await stageReplacedOwnership({ appDir, stagingDir, steps, privileged: [] });
    });
    expect(notKept).toEqual([]);
    expect(requests).toBeLessThan(FEW);
  });

  it("saved.json's copies are stat'ed synchronously", async () => {
    const backup = join(root, "backup");
    tree(join(backup, "files"), "1.0.0");
    const requests = await fsRequests(() => writeSavedSizes(backup, rels));
    expect(existsSync(join(backup, "saved.json"))).toBe(true);
    expect(requests).toBeLessThan(FEW);
  });

  it("a tree is removed without a request per entry", async () => {
    const trash = tree(join(root, "trash"), "2.0.0");
    const requests = await fsRequests(() => removeTree(trash));
    expect(existsSync(trash)).toBe(false);
    expect(requests).toBeLessThan(FEW);
  });
});
