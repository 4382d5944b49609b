/**
 * `ship release publish` sends flags as the API's body; the hub's 400 names the body's fields.
 * An operator who typed `--url https://user:pass@…` read `body.source.url: must not contain
 * credentials`, a field they never wrote. The refusal now names the flag. Real hub, real CLI.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
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

  // Each was ignored without a word: the release was published (exit 0) as if the flag were not
  // there. Refused before the hub is asked (real CLI), and the hub holds no release of the app.
  const commit = "c".repeat(40);
  it.each([
    [
      ["--git-commit", commit, "--sha256", "a".repeat(64)],
      "--sha256 applies to --url, --remote-path, not to --git-commit",
    ],
    [
      ["--url", "https://example.com/web.tar.gz", "--sha256", "a".repeat(64), "--git-tag", "v3.0.0"],
      "--git-tag applies to --git-commit, not to --url",
    ],
    [
      ["--git-commit", commit, "--allow-private-key", "key.pem"],
      "--allow-private-key applies to --artifact, not to --git-commit",
    ],
  ])("publish %j is exit 2 naming the flag, and publishes nothing", async (source, said) => {
    const run = await runShip([
      ...["release", "-C", dir, "publish", "--hub", t.hub.url, "--token-file", "ci.token"],
      ...["--app", "unread", "--version", "3.0.0", ...source],
    ]);
    expect([run.code, run.stderr]).toEqual([2, `ship release publish: ${said}: leave it out\n`]);
    const listed = await t.api<{ releases: unknown[] }>("GET", "/api/v1/releases?app=unread", {
      token: t.operator,
    });
    expect(listed.body.releases).toEqual([]);
  });

  it("sign ARCHIVE --git-commit is exit 2 (the archive was left unread) and writes no signature", async () => {
    await writeFile(join(dir, "web-3.0.0.tar.gz"), "not read\n");
    expect((await runShip(["release", "-C", dir, "keygen"])).code).toBe(0);
    const run = await runShip([
      ...["release", "-C", dir, "sign", "web-3.0.0.tar.gz", "--git-commit", commit],
      ...["--manifest", "update-manifest.yaml", "--key", "ship-release.key"],
    ]);
    expect([run.code, run.stderr]).toEqual([
      2,
      "ship release sign: ARTIFACT and --git-commit: give one (a git release's signature reads no archive)\n",
    ]);
    expect(existsSync(join(dir, "web-3.0.0.tar.gz.sig"))).toBe(false);
  });
});
