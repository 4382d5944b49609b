/**
 * What the manifest's reader warns about (a misspelt `auto_rolback_on:`, which leaves automatic
 * rollback off) is said by every `ship release` step of a CI job, one line each, naming
 * file:line:column and key: `http`, `git` and `sign` read it themselves, and `publish` says the
 * hub's answer (POST /releases returns `warnings`). Each was exit 0 with not a word, so the CI log
 * never showed it. Real CLI processes, a real hub, a real git repository.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { startTestHub, type TestHub } from "../hub/support.js";

const MANIFEST = [
  'version: "1.0.0"', //                                    1
  "rollback:", //                                           2
  "  strategy: full_backup", //                             3
  "  auto_rolback_on: [health_check_fail]", //              4
  "",
].join("\n");
const SAID =
  'rollback.auto_rolback_on: unknown key "auto_rolback_on" (did you mean "auto_rollback_on"?); ignored';

describe("ship release says the manifest's warnings", () => {
  let t: TestHub;
  let dir: string;
  let app: string;
  const ship = (...args: string[]) => runShip(["release", "-C", app, ...args]);
  beforeAll(async () => {
    t = await startTestHub();
    dir = await mkdtemp(join(tmpdir(), "ship-release-warnings-"));
    app = join(dir, "app");
    const git = (...args: string[]) => execFileSync("git", args, { cwd: app, stdio: "pipe" });
    execFileSync("git", ["init", "-q", "-b", "main", app]);
    git("config", "user.name", "ci");
    git("config", "user.email", "ci@example.com");
    await writeFile(join(app, "update-manifest.yaml"), MANIFEST);
    await writeFile(join(app, "index.js"), "ok\n");
    await writeFile(join(app, ".gitignore"), "dist/\n");
    git("add", ".");
    git("commit", "-q", "-m", "app");
    await writeFile(join(dir, "ci.token"), `${t.ci}\n`);
    expect((await runShip(["release", "-C", dir, "keygen"])).code).toBe(0);
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("http, git and sign: one line each, naming the file, line, column and key", async () => {
    const built = await ship("http", "1.0.0", "first", "--app", "web", "--out", "dist");
    expect(built.code).toBe(0);
    expect(built.stderr).toContain(`warning: ${join(app, "update-manifest.yaml")}:4:3 ${SAID}\n`);

    const tagged = await ship("git", "1.0.0", "first");
    expect(tagged.code).toBe(0);
    expect(tagged.stderr).toContain(`warning: ${join(app, "update-manifest.yaml")}:4:3 ${SAID}\n`);

    const signed = await ship("sign", "dist/web-1.0.0.tar.gz", "--key", join(dir, "ship-release.key"));
    expect(signed.code).toBe(0);
    const archive = join(app, "dist/web-1.0.0.tar.gz");
    expect(signed.stderr).toContain(`warning: ${archive}!update-manifest.yaml:4:3 ${SAID}\n`);
  });

  it("publish says the hub's warnings once, naming the archive's manifest; --json as {warning} lines", async () => {
    const publish = (version: string, ...more: string[]) =>
      ship(
        ...more,
        "publish",
        ...["--hub", t.hub.url, "--token-file", join(dir, "ci.token"), "--app", "web"],
        ...["--version", version, "--artifact", `dist/web-${version}.tar.gz`],
      );
    const plain = await publish("1.0.0");
    expect(plain.code).toBe(0);
    const archive = join(app, "dist/web-1.0.0.tar.gz");
    expect(plain.stderr).toBe(`warning: ${archive}!update-manifest.yaml:4:3 ${SAID}\n`);

    expect((await ship("http", "1.0.1", "second", "--app", "web", "--out", "dist")).code).toBe(0);
    const json = await publish("1.0.1", "--json");
    expect(json.code).toBe(0);
    const said = `${join(app, "dist/web-1.0.1.tar.gz")}!update-manifest.yaml:4:3 ${SAID}`;
    expect(json.stderr).toBe(`${JSON.stringify({ warning: said })}\n`);
    expect(JSON.parse(json.stdout)).toMatchObject({ version: "1.0.1", warnings: [`warning: ${said}`] });
  });
});
