/**
 * `ship release publish` sends flags as the API's body; the hub's 400 names the body's fields.
 * An operator who typed `--url https://user:pass@…` read `body.source.url: must not contain
 * credentials`, a field they never wrote. The refusal now names the flag. Real hub, real CLI.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../hub/support.js";
import { runRelease } from "./run-cli.js";

describe("ship release publish: the hub's refusal names the flag", () => {
  let t: TestHub;
  let dir: string;
  beforeAll(async () => {
    t = await startTestHub();
    dir = await mkdtemp(join(tmpdir(), "ship-publish-flags-"));
    await writeFile(join(dir, "ci.token"), `${t.ci}\n`);
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "3.0.0"\n');
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // `--url https://user:pass@…` is refused before the hub is asked (publish-url-secrets.test.ts).
  it.each([
    [
      ["--url", "ftp://example.com/web.tar.gz", "--sha256", "a".repeat(64)],
      "--url: must be an http:// or https:// URL",
    ],
    [["--git-commit", "zzz"], "--git-commit: must be a commit hash"],
  ])("%j", async (source, said) => {
    const refused = await runRelease(
      dir,
      "publish",
      ...["--hub", t.hub.url, "--token-file", join(dir, "ci.token"), "--app", "web", "--version", "3.0.0"],
      ...source,
    );
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`the hub refused (HTTP 400): ${said}`);
    expect(refused.err).not.toContain("body.");
    expect(refused.err).not.toContain("pass@");
  });
});
