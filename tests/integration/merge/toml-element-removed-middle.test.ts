/**
 * review35: merge_toml, pyproject's [[tool.mypy.overrides]] (elements keyed by `module`, not
 * name/id/key). The release drops the middle element (b.*) and changes the last (c.* gains a key).
 * README: a dropped element "takes the comment lines directly above it along, named when they were
 * yours"; a changed one "that holds comments of yours, found by its name, id or key or else by its
 * place, is your element edited to the release's values". The changed c.* element was paired with
 * the operator's b.* element by place: the result reads
 *     # ops: b vendored
 *     [[tool.mypy.overrides]]
 *     module = "c.*"  # ops: upstream
 * (b's comments now describe c), while c's own comments ("# ops: c strict", "# ops: new code") are
 * dropped with WARNINGs and b's dropping is not named. Expected: c keeps its comments; b's go, named.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { type LocalApp, localApp, updateOverEdits } from "../cli/local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

const manifest = (version: string) =>
  `version: "${version}"\nfiles:\n  "pyproject.toml":\n    action: merge_toml\n    merge_strategy: preserve_user\n`;

const el = (m: string, body: string) => `[[tool.mypy.overrides]]\nmodule = "${m}"\n${body}`;
const v1 = `[project]\nname = "app"\n\n${el("a.*", "ignore_errors = true\n")}\n${el("b.*", "ignore_errors = true\n")}\n${el("c.*", "strict = true\n")}`;
const edited = v1
  .replace(
    '[[tool.mypy.overrides]]\nmodule = "b.*"',
    '# ops: b vendored\n[[tool.mypy.overrides]]\nmodule = "b.*"  # ops: upstream',
  )
  .replace(
    '[[tool.mypy.overrides]]\nmodule = "c.*"',
    '# ops: c strict\n[[tool.mypy.overrides]]\nmodule = "c.*"  # ops: new code',
  );
const v2 = `[project]\nname = "app"\n\n${el("a.*", "ignore_errors = true\n")}\n${el("c.*", "strict = true\nwarn_unused_ignores = true\n")}`;

it("a changed element keeps its own comments, not those of the dropped element before it", async () => {
  const { read } = await updateOverEdits(app, manifest, {
    v1: { "pyproject.toml": v1 },
    edited: { "pyproject.toml": edited },
    v2: { "pyproject.toml": v2 },
  });
  const out = await read("pyproject.toml");
  expect(out).toContain("warn_unused_ignores = true");
  expect(out).not.toContain('module = "c.*"  # ops: upstream');
  expect(out).not.toContain("# ops: b vendored");
  expect(out).toContain('module = "c.*"  # ops: new code');
});
