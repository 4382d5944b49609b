/**
 * Merges of configs shaped like real apps' (tests/fixtures/merge/<name>/): the user's copy, the
 * release's, the previous release's, and the exact text the merge must give — comments, layout,
 * arrays of tables, anchors, BOM and line endings as the user's file has them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type MergeFormat, mergeConfigFile } from "../../../agent/merge/index.js";

const root = join(import.meta.dirname, "../../fixtures/merge");

interface Fixture {
  name: string;
  ext: "toml" | "yml" | "json";
  kept: string[];
  added: string[];
  updated: string[];
  removed?: string[];
}

const corpus: Fixture[] = [
  {
    name: "telegraf",
    ext: "toml",
    kept: ["agent.interval", "inputs.disk"],
    added: ["agent.flush_jitter", "inputs.net"],
    updated: ["outputs.influxdb", "inputs.cpu"],
  },
  {
    name: "router",
    ext: "toml",
    kept: ["log_level"],
    added: ["tls.min_version", "idle_timeout"],
    updated: ["endpoints"],
  },
  {
    name: "pyproject",
    ext: "toml",
    kept: ["tool.black.line-length"],
    added: ["tool.poetry.dependencies.pydantic", "tool.ruff"],
    updated: [
      "build-system.requires",
      "tool.poetry.version",
      "tool.poetry.dependencies.requests",
      "tool.poetry.source",
      "tool.black.target-version",
    ],
  },
  {
    name: "cargo",
    ext: "toml",
    kept: [],
    added: [],
    updated: [
      "package.version",
      "package.rust-version",
      "dependencies.tokio.version",
      "dependencies.tokio.features",
      "dependencies.serde.features",
      "bin",
    ],
  },
  {
    name: "rails-database",
    ext: "yml",
    kept: ["production.pool"],
    added: [
      "default.connect_timeout",
      "development.connect_timeout",
      "test.connect_timeout",
      "production.connect_timeout",
      "production.sslmode",
    ],
    updated: ["default.pool", "development.pool", "test.pool"],
  },
  {
    name: "docker-compose",
    ext: "yml",
    kept: ["services.web.environment.WEB_CONCURRENCY"],
    added: ["services.web.stop_grace_period"],
    updated: [
      "x-logging.options.max-size",
      "services.web.image",
      "services.web.logging.options.max-size",
      "services.db.image",
      "services.db.logging.options.max-size",
      // The operator's own service follows the anchor the release changed: its app sees 50m too.
      "services.backup.logging.options.max-size",
    ],
  },
  {
    name: "package-json",
    ext: "json",
    kept: ["engines.node"],
    added: ["scripts.lint", "dependencies.pino"],
    updated: ["version", "dependencies.express", "dependencies.pg"],
  },
];

const formatOf = (ext: Fixture["ext"]): MergeFormat => (ext === "yml" ? "yaml" : ext);
const read = (f: Fixture, copy: string) => readFileSync(join(root, f.name, `${copy}.${f.ext}`), "utf8");
const merge = (f: Fixture, current: string, incoming: string, base?: string) =>
  mergeConfigFile({
    format: formatOf(f.ext),
    fileName: `${f.name}.${f.ext}`,
    current,
    incoming,
    base,
    strategy: "preserve_user",
  });

describe.each(corpus)("$name.$ext", (f) => {
  it("three-way merge: the exact expected text, every change reported, no warning", () => {
    const result = merge(f, read(f, "current"), read(f, "incoming"), read(f, "base"));
    expect(result.text).toBe(read(f, "expected"));
    expect(result.warnings).toEqual([]);
    expect(result.kept).toEqual(f.kept);
    expect(result.added).toEqual(f.added);
    expect(result.updated).toEqual(f.updated);
    expect(result.removed).toEqual(f.removed ?? []);
  });

  it("a merge that changes no value leaves the file byte for byte (the release itself, or a second run)", () => {
    const current = read(f, "current");
    expect(merge(f, current, current).text).toBe(current);
    const expected = read(f, "expected");
    expect(merge(f, expected, read(f, "incoming"), read(f, "base")).text).toBe(expected);
  });

  it("saved by a Windows editor (BOM, CRLF): the same merge, in the file's own form", () => {
    const windows = (text: string) => `\uFEFF${text.replace(/^\uFEFF/, "").replace(/\r?\n/g, "\r\n")}`;
    const result = merge(f, windows(read(f, "current")), read(f, "incoming"), read(f, "base"));
    expect(result.text).toBe(windows(read(f, "expected")));
    expect(result.warnings).toEqual([]);
  });
});
