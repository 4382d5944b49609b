import { mkdtemp, readdir, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pruneOldFiles, removeCleanupFiles } from "../../../agent/pipeline/cleanup-files.js";
import { nextSourceState } from "../../../agent/pipeline/finalize.js";
import { selectMigrations } from "../../../agent/pipeline/migrations.js";
import { checkReleaseFiles, effectivePolicy } from "../../../agent/pipeline/release-policy.js";
import type { AppReport } from "../../../agent/pipeline/report.js";
import { combinedExitCode } from "../../../agent/pipeline/report.js";
import { rollbackTrigger, UPDATE_STEPS } from "../../../agent/pipeline/steps.js";
import { emptySourceState } from "../../../agent/state/state-file.js";
import { VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { Manifest, SecurityPolicy } from "../../../shared/manifest/schema.js";
import { writeTree } from "../../integration/pipeline/harness.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-steps-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("steps", () => {
  it("classify failures: nothing to restore before the apply, triggers after it", () => {
    const triggers = UPDATE_STEPS.map((s) => [s.kind === "hooks" ? s.phase : s.kind, rollbackTrigger(s)]);
    expect(triggers).toEqual([
      ["fetch", null],
      ["verify", null],
      ["rollout", null],
      ["conditionals", null],
      ["requirements", null],
      ["pre_update", null],
      ["apply", "critical_error"],
      ["migrations", "critical_error"],
      ["post_update", "service_start_fail"],
      ["tests", "health_check_fail"],
      ["cleanup", "critical_error"],
    ]);
  });

  it("combine exit codes worst first", () => {
    expect(combinedExitCode([0, 100, 1, 2])).toBe(1);
    expect(combinedExitCode([0, 3, 1])).toBe(3);
    expect(combinedExitCode([0, 100])).toBe(100);
    expect(combinedExitCode([])).toBe(0);
  });
});

describe("selectMigrations", () => {
  const m = (...vs: string[]) => Object.fromEntries(vs.map((v) => [v, [`echo ${v}`]]));
  it("takes current < v <= target in version (not string) order", () => {
    const picked = selectMigrations(
      m("2.0.0", "1.10.0", "1.2.0", "1.9.0", "1.0.0", "2.0.1"),
      "1.2.0",
      "2.0.0",
    );
    expect(picked.map((b) => b.version)).toEqual(["1.9.0", "1.10.0", "2.0.0"]);
  });
  it("takes nothing when target == current", () => {
    expect(selectMigrations(m("1.0.0"), "1.0.0", "1.0.0")).toEqual([]);
  });
});

describe("release file policy", () => {
  it("refuses a file type not in allowed_file_types and an oversize file", async () => {
    await writeTree(dir, { "a.py": "x", "update-manifest.yaml": "version: '1'", Dockerfile: "FROM x" });
    const policy = effectivePolicy(
      "app",
      SecurityPolicy.parse({ allowed_file_types: [".py", "Dockerfile"] }),
      undefined,
    );
    await expect(checkReleaseFiles(dir, policy)).resolves.toBeUndefined();
    await writeTree(dir, { "tool.sh": "rm -rf /" });
    await expect(checkReleaseFiles(dir, policy)).rejects.toThrow(VerificationError);
    await expect(checkReleaseFiles(dir, { maxFileBytes: 3 })).rejects.toThrow(
      /^[\w.]+: \d bytes is over the limit of 3 bytes$/,
    );
  });
  it("matches compound extensions (.tar.gz) by the end of the name", async () => {
    await writeTree(dir, {
      "vendor/pkg-1.0.tar.gz": "x",
      "app.min.js": "y",
      "update-manifest.yaml": "version: '1'",
    });
    const policy = effectivePolicy(
      "app",
      SecurityPolicy.parse({ allowed_file_types: [".tar.gz", ".MIN.js"] }),
      undefined,
    );
    await expect(checkReleaseFiles(dir, policy)).resolves.toBeUndefined();
    await writeTree(dir, { "tar.gz": "a name, not an extension", "b.gz": "z" });
    await expect(checkReleaseFiles(dir, policy)).rejects.toThrow(VerificationError);
  });
  it("lets the config's list win and the smaller size limit apply", () => {
    const policy = effectivePolicy(
      "app",
      SecurityPolicy.parse({ allowed_file_types: [".py"], max_file_size_mb: 10 }),
      SecurityPolicy.parse({ allowed_file_types: [".sh"], max_file_size_mb: 1 }),
    );
    expect(policy).toEqual({
      allowedTypes: [".py"],
      allowedTypesSetting: "[sources.app.security] allowed_file_types",
      maxFileBytes: 1024 * 1024,
      maxFileSetting: "the manifest's security.max_file_size_mb = 1",
    });
    expect(effectivePolicy("app", SecurityPolicy.parse({ max_file_size_mb: 0.5 }), undefined)).toEqual({
      maxFileBytes: 512 * 1024,
      maxFileSetting: "[sources.app.security] max_file_size_mb = 0.5",
    });
  });
});

describe("cleanup", () => {
  it("removes matching files at any depth but never inside protected directories or outside the app", async () => {
    await writeTree(dir, {
      "a.pyc": "",
      "src/b.pyc": "",
      "src/__pycache__/c.py": "",
      "data/keep.pyc": "",
      "legacy_modules/x.py": "",
      "src/main.py": "",
    });
    const manifest = Manifest.parse({
      version: "1",
      directories: { data: { preserve: true } },
      cleanup: {
        remove_files: ["*.pyc", "__pycache__"],
        remove_directories: ["legacy_modules", "../outside"],
      },
    });
    await removeCleanupFiles(dir, manifest, memoryLogger(), join(dir, "no-state"));
    expect((await readdir(dir, { recursive: true })).sort()).toEqual([
      "data",
      "data/keep.pyc",
      "src",
      "src/main.py",
    ]);
  });

  it("prunes files older than keep_days in cleanup_old directories", async () => {
    await writeTree(dir, { "logs/old.log": "", "logs/new.log": "" });
    const now = new Date("2026-03-01T00:00:00Z");
    const old = new Date("2026-01-01T00:00:00Z");
    await utimes(join(dir, "logs/old.log"), old, old);
    await utimes(join(dir, "logs/new.log"), now, now);
    const manifest = Manifest.parse({
      version: "1",
      directories: { logs: { preserve: true, cleanup_old: true, keep_days: 30 } },
    });
    expect(await pruneOldFiles(dir, manifest, now, memoryLogger(), join(dir, "no-state"))).toBe(1);
    await expect(stat(join(dir, "logs/old.log"))).rejects.toThrow();
    expect((await stat(join(dir, "logs/new.log"))).isFile()).toBe(true);
  });
});

describe("nextSourceState", () => {
  const report = (fields: Partial<AppReport>): AppReport => ({
    source: "app",
    appDir: "/opt/app",
    result: "updated",
    exitCode: 0,
    fromVersion: "1.0.0",
    toVersion: "2.0.0",
    releaseId: "tree:abc",
    message: "",
    error: null,
    manualSteps: [],
    warnings: [],
    steps: [],
    merges: [],
    ...fields,
  });
  const now = new Date("2026-01-01T00:00:00Z");
  const installed = { ...emptySourceState(), current_version: "1.0.0", manual_steps: ["x"] };

  it("moves versions on success and clears the pending record and manual steps", () => {
    const pending = { version: "2.0.0", from: "1.0.0", started: now.toISOString(), rollback_commands: [] };
    const next = nextSourceState({ ...installed, pending_update: pending }, report({}), now);
    expect(next).toMatchObject({
      current_version: "2.0.0",
      previous_version: "1.0.0",
      last_result: "updated",
    });
    expect(next.pending_update).toBeUndefined();
    expect(next.manual_steps).toBeUndefined();
  });

  it("keeps versions and records the error after a restored failure", () => {
    const next = nextSourceState(
      installed,
      report({ result: "failed_restored", exitCode: 1, error: "boom" }),
      now,
    );
    expect(next).toMatchObject({
      current_version: "1.0.0",
      last_result: "failed_restored",
      last_error: "boom",
    });
  });
});
