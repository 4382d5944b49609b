import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollbackTrigger, type Step } from "../../../agent/pipeline/steps.js";
import { setReleaseFields } from "../../../agent/release/manifest-fields.js";
import {
  releaseDate,
  starterManifest,
  writeStarterManifest,
} from "../../../agent/release/manifest-template.js";
import { BadInputError } from "../../../shared/errors.js";
import { parseManifestText } from "../../../shared/manifest/load.js";

const options = { version: "1.2.3", description: "First", releaseDate: "2026-01-02", app: "myapp" };

describe("starter manifest", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-manifest-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("explains each auto_rollback_on trigger as the pipeline assigns it", () => {
    const text = starterManifest(options);
    const comment = (trigger: string) => new RegExp(`- ${trigger} +# (.*)$`, "m").exec(text)?.[1] ?? "";
    const said = {
      health_check_fail: comment("health_check_fail"),
      service_start_fail: comment("service_start_fail"),
      critical_error: comment("critical_error"),
    };
    const steps: Step[] = [
      { kind: "tests" },
      { kind: "hooks", phase: "post_update" },
      { kind: "apply" },
      { kind: "migrations" },
      { kind: "cleanup" },
    ];
    const words = {
      tests: "post_update_test",
      hooks: "post_update hook",
      apply: "apply",
      migrations: "migration",
      cleanup: "cleanup",
    };
    for (const step of steps) {
      const trigger = rollbackTrigger(step);
      expect(trigger).not.toBeNull();
      for (const [name, line] of Object.entries(said))
        expect(line.includes(words[step.kind as keyof typeof words]), `${name}: ${line}`).toBe(
          name === trigger,
        );
    }
  });

  it("validates with the shared schema and carries the seed's rules", () => {
    const { manifest, warnings } = parseManifestText(starterManifest(options), "update-manifest.yaml");
    expect(warnings).toEqual([]);
    expect(manifest.version).toBe("1.2.3");
    expect(manifest.release_date).toBe("2026-01-02");
    expect(manifest.files["config.toml"]).toMatchObject({
      action: "merge_toml",
      merge_strategy: "preserve_user",
    });
    expect(manifest.files["src/**"]?.action).toBe("replace");
    expect(manifest.files[".env"]?.action).toBe("skip");
    expect(manifest.files["secrets/**"]?.action).toBe("skip");
    for (const d of ["data", "images", "uploads"]) expect(manifest.directories[d]?.preserve).toBe(true);
    expect(manifest.hooks).toEqual({ pre_update: [], post_update: [], rollback: [] });
    expect(manifest.post_update_tests).toEqual([]);
  });

  it("quotes versions that YAML would read as numbers", () => {
    const { manifest } = parseManifestText(starterManifest({ ...options, version: "1.10" }), "m");
    expect(manifest.version).toBe("1.10");
  });

  it("never overwrites an existing manifest without force", async () => {
    const path = join(dir, "update-manifest.yaml");
    await writeFile(path, "mine\n");
    await expect(writeStarterManifest(path, options, false)).rejects.toBeInstanceOf(BadInputError);
    expect(await readFile(path, "utf8")).toBe("mine\n");
    await writeStarterManifest(path, options, true);
    expect(await readFile(path, "utf8")).toContain('version: "1.2.3"');
  });

  it("sets version and description keeping comments and other keys", () => {
    const text =
      '# top comment\nversion: "1.0.0"  # the version\nfiles:\n  "a.toml": { action: merge_toml }\n';
    const updated = setReleaseFields(text, "m", { version: "2.0", description: "Two" });
    expect(updated).toContain("# top comment");
    expect(updated).toContain('"a.toml"');
    expect(parseManifestText(updated, "m").manifest).toMatchObject({ version: "2.0", description: "Two" });
  });

  it("takes the release date from SOURCE_DATE_EPOCH when set", () => {
    expect(releaseDate({ SOURCE_DATE_EPOCH: "1700000000" })).toBe("2023-11-14");
  });
});

describe("ship release interactive", () => {
  it("turns answers into a plan, bumping from the newest tag", async () => {
    const { PassThrough } = await import("node:stream");
    const { askReleasePlan } = await import("../../../agent/release/interactive.js");
    const dir = await mkdtemp(join(tmpdir(), "ship-interactive-"));
    try {
      const ask = async (answers: string[]) => {
        const input = new PassThrough();
        const output = new PassThrough();
        output.resume();
        input.end(`${answers.join("\n")}\n`);
        return askReleasePlan(dir, input, output);
      };
      // Not a git repository: no tags, so a minor bump starts at 0.1.0.
      expect(await ask(["http", "minor", "New things", "y"])).toEqual({
        method: "http",
        version: "0.1.0",
        description: "New things",
      });
      expect(await ask(["sftp", "v2.0.0", "Hotfix", "deploy.example.com", "deployer", "", "y"])).toEqual({
        method: "sftp",
        version: "2.0.0",
        description: "Hotfix",
        host: "deploy.example.com",
        user: "deployer",
        remoteDir: "/releases",
      });
      expect(await ask(["git", "patch", "x", "n", "n"])).toBeUndefined();
      await expect(ask(["ftp"])).rejects.toThrow(/^method "ftp" is not one of git, http, sftp$/);
      await expect(ask(["ftp"])).rejects.toBeInstanceOf(BadInputError);
      // Input that ends before the last question (a pipe, a closed terminal) says which went unanswered.
      await expect(ask(["http", "minor"])).rejects.toThrow(/^stdin ended with no answer to "description"$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
