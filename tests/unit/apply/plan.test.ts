import { describe, expect, it } from "vitest";
import { IndexFiles } from "../../../agent/apply/index-files.js";
import { draftPlan, filesToHash, finishPlan, planUpdate, summarizePlan } from "../../../agent/apply/plan.js";
import type {
  InstallIndex,
  PlanStep,
  ReleaseEntry,
  TreeEntry,
  TreeScan,
} from "../../../agent/apply/types.js";
import { Manifest, type ManifestInput } from "../../../shared/manifest/schema.js";

function manifest(input: Partial<ManifestInput> = {}): Manifest {
  return Manifest.parse({ version: "2.0.0", ...input });
}

function release(files: Record<string, string>): Map<string, ReleaseEntry> {
  return new Map(
    Object.entries(files).map(([rel, sha256]) => [rel, { type: "file", sha256, size: 10, mode: 0o644 }]),
  );
}

let nextIno = 1;
function stat(overrides: Partial<TreeEntry> = {}): TreeEntry {
  return { type: "file", size: 10, mode: 0o644, mtimeMs: 1000, ino: nextIno++, ...overrides };
}

function app(files: Record<string, TreeEntry>, dirs: string[] = []): TreeScan {
  const dirSet = new Map<string, number>(dirs.map((d) => [d, 0o755]));
  for (const rel of Object.keys(files)) {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) dirSet.set(parts.slice(0, i).join("/"), 0o755);
  }
  return { files: new Map(Object.entries(files)), dirs: dirSet };
}

/** An index that vouches for each app file with the given release hash. */
function indexOf(scan: TreeScan, shas: Record<string, string>, dirs: string[] = []): InstallIndex {
  const files = new IndexFiles();
  for (const [rel, sha256] of Object.entries(shas)) {
    const entry = scan.files.get(rel);
    if (entry)
      files.set(rel, { sha256, size: entry.size, mode: entry.mode, mtimeMs: entry.mtimeMs, ino: entry.ino });
  }
  return { version: "1.0.0", installedAt: "2025-01-01T00:00:00Z", files, dirs };
}

function kinds(steps: PlanStep[]): Record<string, string> {
  return Object.fromEntries(steps.map((s) => [s.rel, s.kind === "skip" ? `skip:${s.reason}` : s.kind]));
}

describe("planUpdate", () => {
  it("steps come in code-unit order whatever order the source listed the release in", () => {
    // A depth-first listing puts foo/bar.js before foo.js ('/' sorts after '.'); a sorted one is kept.
    for (const order of [
      ["foo/bar.js", "foo.js", "a.txt"],
      ["a.txt", "foo.js", "foo/bar.js"],
    ]) {
      const plan = planUpdate({
        manifest: manifest(),
        release: release(Object.fromEntries(order.map((rel) => [rel, "S"]))),
        app: app({}),
        index: undefined,
      });
      expect(plan.steps.map((s) => s.rel)).toEqual(["a.txt", "foo.js", "foo/bar.js"]);
    }
  });

  it("adds every file of a first install, creating parent directories parents first", () => {
    const plan = planUpdate({
      manifest: manifest(),
      release: release({ "a.txt": "A", "src/lib/x.py": "X" }),
      app: app({}),
      index: undefined,
    });
    expect(kinds(plan.steps)).toEqual({ "a.txt": "add", "src/lib/x.py": "add" });
    expect(plan.mkdirs.map((d) => d.rel)).toEqual(["src", "src/lib"]);
    expect(plan.conflicts).toEqual([]);
  });

  it("keeps files the index vouches for by stat, replaces changed ones, and hashes only what stat cannot decide", () => {
    const scan = app({
      "same.txt": stat(),
      "changed.txt": stat(),
      "touched.txt": stat(),
      "grown.txt": stat(),
    });
    const index = indexOf(scan, {
      "same.txt": "S",
      "changed.txt": "OLD",
      "touched.txt": "T",
      "grown.txt": "G",
    });
    const touched = scan.files.get("touched.txt");
    if (touched) touched.mtimeMs = 2000; // touched but identical content
    const grown = scan.files.get("grown.txt");
    if (grown) grown.size = 99; // size differs from the release: no hash needed to know it changed
    const input = {
      manifest: manifest(),
      release: release({ "same.txt": "S", "changed.txt": "NEW", "touched.txt": "T", "grown.txt": "G" }),
      app: scan,
      index,
    };
    // changed.txt: its stat matches the index, so its bytes are known (OLD) without reading it.
    expect(filesToHash(input)).toEqual(["touched.txt"]);
    const plan = planUpdate({ ...input, appHashes: new Map([["touched.txt", "T"]]) });
    expect(kinds(plan.steps)).toEqual({
      "same.txt": "keep",
      "changed.txt": "replace",
      "touched.txt": "keep",
      "grown.txt": "replace",
    });
  });

  it("does not trust the index for a file whose ctime moved, even with size, mtime and inode unchanged", () => {
    // An edit in place followed by `touch -r`: only the inode change time gives it away.
    const scan = app({ "edited.txt": stat({ ctimeMs: 5000 }), "same.txt": stat({ ctimeMs: 5000 }) });
    const index = indexOf(scan, { "edited.txt": "E", "same.txt": "S" });
    for (const [rel, entry] of index.files) index.files.set(rel, { ...entry, ctimeMs: 5000 });
    const edited = scan.files.get("edited.txt");
    if (edited) edited.ctimeMs = 6000;
    const input = {
      manifest: manifest(),
      release: release({ "edited.txt": "E", "same.txt": "S" }),
      app: scan,
      index,
    };
    expect(filesToHash(input)).toEqual(["edited.txt"]);
    const plan = planUpdate({ ...input, appHashes: new Map([["edited.txt", "EDITED"]]) });
    expect(kinds(plan.steps)).toEqual({ "edited.txt": "replace", "same.txt": "keep" });
  });

  it("replaces a file whose mode changed even when its bytes did not", () => {
    const scan = app({ "run.sh": stat({ mode: 0o644 }) });
    const rel = release({ "run.sh": "R" });
    const entry = rel.get("run.sh");
    if (entry) entry.mode = 0o755;
    const plan = planUpdate({
      manifest: manifest(),
      release: rel,
      app: scan,
      index: indexOf(scan, { "run.sh": "R" }),
    });
    expect(kinds(plan.steps)).toEqual({ "run.sh": "replace" });
  });

  it("never touches protected directories, even when the release ships files there", () => {
    const m = manifest({ directories: { data: { preserve: true }, "logs/": { preserve: true } } });
    const scan = app({ "app.py": stat() }, ["data", "logs"]);
    const index = indexOf(scan, { "app.py": "A" });
    index.files.set("data/seed.db", { sha256: "D", size: 1, mode: 0o644, mtimeMs: 1, ino: 1 });
    const plan = planUpdate({
      manifest: m,
      release: release({ "app.py": "A", "data/seed.db": "D2", "logs/readme": "L" }),
      app: scan,
      index,
    });
    expect(kinds(plan.steps)).toEqual({
      "app.py": "keep",
      "data/seed.db": "skip:protected",
      "logs/readme": "skip:protected",
    });
    expect(plan.mkdirs).toEqual([]);
  });

  it("never writes skip files, not even when the app lacks them, and never removes them", () => {
    const m = manifest({ files: { ".env": { action: "skip" }, "secrets/*": { action: "skip" } } });
    const scan = app({ "secrets/old.key": stat() });
    const index = indexOf(scan, { "secrets/old.key": "K" });
    const plan = planUpdate({
      manifest: m,
      release: release({ ".env": "E", "secrets/new.key": "N" }),
      app: scan,
      index,
    });
    expect(kinds(plan.steps)).toEqual({ ".env": "skip:rule", "secrets/new.key": "skip:rule" });
  });

  it("removes files the previous release installed and this one drops, and leaves the user's own files alone", () => {
    const scan = app({ "old.py": stat(), "keep.py": stat(), "notes.txt": stat() });
    const index = indexOf(scan, { "old.py": "O", "keep.py": "K" });
    const plan = planUpdate({ manifest: manifest(), release: release({ "keep.py": "K" }), app: scan, index });
    expect(kinds(plan.steps)).toEqual({ "keep.py": "keep", "old.py": "remove" });
    expect(plan.steps.find((s) => s.rel === "notes.txt")).toBeUndefined();
  });

  it("clears preserve: false directories but still installs the release's files there", () => {
    const m = manifest({ directories: { cache: { preserve: false } } });
    const scan = app({ "cache/a.bin": stat(), "cache/sub/b.bin": stat(), "cache/keep.txt": stat() });
    const plan = planUpdate({
      manifest: m,
      release: release({ "cache/keep.txt": "C" }),
      app: scan,
      index: undefined,
    });
    expect(kinds(plan.steps)).toEqual({
      "cache/keep.txt": "replace",
      "cache/a.bin": "remove",
      "cache/sub/b.bin": "remove",
    });
  });

  it("clears a preserve: false directory named after preserved ones, as ./name/, and none when every entry preserves", () => {
    // The planner asks for cleared directories only when some entry clears one: this pins that
    // test against entries after the first, spellings that normalise, and preserve's default.
    const scan = app({
      "data/db.sqlite": stat(),
      "tmp/x.bin": stat(),
      "tmp/sub/y.bin": stat(),
      "a.txt": stat(),
    });
    const input = { release: release({ "a.txt": "A" }), app: scan, index: undefined };
    const clearing = manifest({
      directories: { data: {}, logs: { preserve: true }, "./tmp/": { preserve: false } },
    });
    expect(kinds(planUpdate({ ...input, manifest: clearing }).steps)).toEqual({
      "a.txt": "replace",
      "tmp/x.bin": "remove",
      "tmp/sub/y.bin": "remove",
    });
    const preserving = manifest({ directories: { data: {}, "./tmp/": { preserve: true } } });
    expect(kinds(planUpdate({ ...input, manifest: preserving }).steps)).toEqual({ "a.txt": "replace" });
  });

  it("applies rule precedence: exact path, then the first matching glob in file order, else replace", () => {
    const m = manifest({
      files: {
        "config/*.toml": { action: "merge_toml" },
        "config/special.toml": { action: "replace" },
        "config/**": { action: "skip" },
        "settings.json": { action: "merge_json", backup: true },
        "legacy.cfg": { action: "backup_replace" },
      },
    });
    const names = [
      "config/a.toml",
      "config/special.toml",
      "config/x.ini",
      "settings.json",
      "legacy.cfg",
      "other.txt",
    ];
    const scan = app(Object.fromEntries(names.map((n) => [n, stat()])));
    const plan = planUpdate({
      manifest: m,
      release: release(Object.fromEntries(names.map((n) => [n, "NEW"]))),
      app: scan,
      index: undefined,
    });
    expect(kinds(plan.steps)).toEqual({
      "config/a.toml": "merge",
      "config/special.toml": "replace",
      "config/x.ini": "skip:rule",
      "settings.json": "merge",
      "legacy.cfg": "replace",
      "other.txt": "replace",
    });
    const copies = Object.fromEntries(
      plan.steps.flatMap((s) =>
        s.kind === "replace" || s.kind === "merge" ? [[s.rel, s.keepCopy ?? null]] : [],
      ),
    );
    expect(copies).toMatchObject({
      "settings.json": "settings.json.bak",
      "legacy.cfg": "legacy.cfg.bak",
      "other.txt": null,
    });
    expect(summarizePlan(plan)).toMatchObject({ merge: 2, replace: 3, skip: 1 });
  });

  it("reports a conflict instead of replacing a directory or writing through a symlink", () => {
    // thing/ holds a file ship never installed: replacing the directory would lose it.
    const scan = app({ link: stat({ type: "symlink" }), "thing/user.txt": stat() }, ["thing"]);
    const plan = planUpdate({
      manifest: manifest(),
      release: release({ thing: "T", "link/inside.txt": "I" }),
      app: scan,
      index: undefined,
    });
    expect(plan.conflicts).toHaveLength(2);
    expect(plan.conflicts).toContainEqual({
      rel: "thing",
      problem: "the release ships a file where the app has a directory",
    });
    expect(plan.conflicts).toContainEqual({
      rel: "link/inside.txt",
      problem: "the app has a symlink at link, where the release needs a directory",
    });
  });

  it("turns a dropped file into a directory when the release needs one there", () => {
    const scan = app({ docs: stat() });
    const plan = planUpdate({
      manifest: manifest(),
      release: release({ "docs/index.md": "D" }),
      app: scan,
      index: indexOf(scan, { docs: "OLD" }),
    });
    expect(plan.conflicts).toEqual([]);
    expect(kinds(plan.steps)).toEqual({ "docs/index.md": "add", docs: "remove" });
    expect(plan.mkdirs.map((d) => d.rel)).toEqual(["docs"]);
  });

  it("removes only directories ship created once they are empty, deepest first", () => {
    const m = manifest({ directories: { uploads: { preserve: true } } });
    const scan = app({ "old/deep/x.py": stat(), "mixed/y.py": stat(), "mixed/user.txt": stat() }, [
      "uploads",
      "userdir",
    ]);
    const index = indexOf(scan, { "old/deep/x.py": "X", "mixed/y.py": "Y" }, [
      "old",
      "old/deep",
      "mixed",
      "uploads",
      "userdir",
    ]);
    scan.dirs.delete("userdir"); // a recorded dir the user deleted meanwhile is simply ignored
    const plan = planUpdate({ manifest: m, release: release({}), app: scan, index });
    expect(plan.rmdirs.map((d) => d.rel)).toEqual(["old/deep", "old"]);
  });

  it("keeps a created directory that the release refills through a new subdirectory", () => {
    const scan = app({ "pkg/old.py": stat() });
    const index = indexOf(scan, { "pkg/old.py": "O" }, ["pkg"]);
    const plan = planUpdate({
      manifest: manifest(),
      release: release({ "pkg/sub/new.py": "N" }),
      app: scan,
      index,
    });
    expect(plan.rmdirs).toEqual([]);
    expect(plan.mkdirs.map((d) => d.rel)).toEqual(["pkg/sub"]);
  });

  it("a draft of stat's verdicts finished with the hashes it asked for plans what planUpdate plans", () => {
    // apply-update.ts plans in one pass over the listing (draftPlan), then hashes what it names.
    const scan = app({
      "kept.txt": stat(),
      "changed.txt": stat(),
      "touched.txt": stat(),
      "edited.txt": stat(),
      "config/app.toml": stat(),
      "config/shared.toml": stat({ type: "symlink" }),
      "mode.sh": stat({ mode: 0o755 }),
      "data/db": stat(),
      "vendor/x.js": stat(),
    });
    const index = indexOf(scan, {
      "kept.txt": "K",
      "changed.txt": "OLD",
      "touched.txt": "T",
      "edited.txt": "E",
      "config/app.toml": "C",
      "config/shared.toml": "L",
      "mode.sh": "M",
      "vendor/x.js": "V",
    });
    for (const rel of ["touched.txt", "edited.txt", "config/shared.toml"]) {
      const entry = scan.files.get(rel);
      if (entry) entry.mtimeMs = 2000; // the index no longer vouches: only a hash can tell
    }
    const files = { "z.txt": "Z", "kept.txt": "K", "changed.txt": "NEW", "touched.txt": "T" };
    const listing = release({
      ...files,
      "edited.txt": "E",
      "config/app.toml": "C2",
      "config/shared.toml": "L2",
      "mode.sh": "M",
      "data/db": "D",
      "vendor/x.js": "V2",
      "../out": "O",
    });
    for (const skipping of [false, true]) {
      const input = {
        manifest: manifest({
          files: {
            "config/*.toml": { action: "merge_toml" },
            ...(skipping ? { "vendor/*": { action: "skip" as const } } : {}),
          },
          directories: { data: { preserve: true } },
        }),
        release: listing,
        app: scan,
        index,
      };
      const draft = draftPlan(input);
      expect(draft.toHash).toEqual(filesToHash(input));
      // A symlink where the release has a file is no candidate: its type already differs.
      expect(draft.toHash).toEqual(["edited.txt", "touched.txt"]);
      const appHashes = new Map([
        ["touched.txt", "T"],
        ["edited.txt", "EDITED"],
        ["config/shared.toml", "L"],
      ]);
      const plan = finishPlan(draft, appHashes);
      expect(plan).toEqual(planUpdate({ ...input, appHashes }));
      expect(plan.steps.map((s) => s.rel)).toEqual([...listing.keys()].sort());
      expect(kinds(plan.steps)).toEqual({
        "../out": "add",
        "changed.txt": "replace",
        "config/app.toml": "merge",
        "config/shared.toml": "skip:linked",
        "data/db": "skip:protected",
        "edited.txt": "replace",
        "kept.txt": "keep",
        "mode.sh": "replace",
        "touched.txt": "keep",
        "vendor/x.js": skipping ? "skip:rule" : "replace",
        "z.txt": "add",
      });
      expect(plan.conflicts).toEqual([{ rel: "../out", problem: "not a safe relative path" }]);
    }
  });

  it("removes a dropped file while the release lists files named like an object's own properties", () => {
    // A parsed index answers `files["toString"]` with Object's: counted as installed, the release
    // would seem to list every installed file and drop none.
    const scan = app({ "a.txt": stat(), "b.txt": stat() });
    const index = indexOf(scan, { "a.txt": "A", "b.txt": "B" });
    const plan = planUpdate({
      manifest: manifest(),
      release: release({ "a.txt": "A", toString: "T" }),
      app: scan,
      index,
    });
    expect(kinds(plan.steps)).toEqual({ "a.txt": "keep", "b.txt": "remove", toString: "add" });
  });

  it("refuses paths that could leave the app directory", () => {
    const plan = planUpdate({
      manifest: manifest(),
      release: release({ "../etc/passwd": "X", "/abs": "Y", "ok/./x": "Z", fine: "F" }),
      app: app({}),
      index: undefined,
    });
    expect(plan.conflicts.filter((c) => c.problem === "not a safe relative path")).toHaveLength(3);
  });
});
