/**
 * A source that could not be asked for a release (a server error, an unasked 304, a refused
 * connection, a git remote that cannot be reached) fails the run with exit 1, and the state file
 * says why: `last_result: "failed_unchanged"` and `last_error` naming what failed, as a failed
 * download already did. Before, such a check left the state as the last good run had written it
 * (an operator reading it, or the seed's health check reading it with jq, saw the old "updated" and
 * no error). A later run that succeeds clears it. A refusal for bad input (exit 2) still records
 * nothing (tests/integration/cli/refusal-leaves-nothing.test.ts).
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceApp } from "../../support/http-app.js";
import { hasProgram } from "../../support/require-program.js";
import { freePort } from "../../support/servers/free-port.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

interface SourceState {
  current_version: string | null;
  last_result: string | null;
  last_error: string | null;
}

async function stateOf(dir: string): Promise<SourceState | undefined> {
  const state = JSON.parse(await readFile(join(dir, "var/state.json"), "utf8")) as {
    sources: Record<string, SourceState>;
  };
  return state.sources.web;
}

let root: string;
let server: TestServer;
/** What the http server answers: a status alone, or the release of a version. */
let answer: { status: number } | { version: string } = { status: 500 };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-check-error-"));
  server = await startHttpServer((_req, res) => {
    if ("version" in answer) {
      res.setHeader("ETag", `"${answer.version}"`);
      res.end(gzipSync(appRelease(answer.version)));
      return;
    }
    res.statusCode = answer.status;
    res.end();
  });
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("a failing check is recorded in the state file (real servers, real CLI)", () => {
  it("http: 500, then an unasked 304, then a refused connection each record last_error; a success clears it", async () => {
    const dir = join(root, "http");
    await mkdir(dir);
    const port = await freePort();
    const { config } = await sourceApp(dir, `type = "http"\nurl = "${server.url}/web.tar.gz"\nretries = 0\n`);
    answer = { version: "1.0.0" };
    expect((await runShip(["--config", config])).code).toBe(0);
    expect((await stateOf(dir))?.last_error).toBeNull();

    answer = { status: 500 };
    const failed = await runShip(["--config", config]);
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    let state = await stateOf(dir);
    expect(state?.last_result).toBe("failed_unchanged");
    expect(state?.last_error).toMatch(/500/);
    expect(state?.current_version).toBe("1.0.0");

    answer = { status: 304 };
    // A url the source has no record of: its request asks for the whole file, and a 304 is no answer.
    await writeFile(config, (await readFile(config, "utf8")).replace("/web.tar.gz", "/web-next.tar.gz"));
    const unasked = await runShip(["--config", config]);
    expect(unasked.code, unasked.stdout + unasked.stderr).toBe(1);
    state = await stateOf(dir);
    expect(state?.last_result).toBe("failed_unchanged");
    expect(state?.last_error).toContain("HTTP 304 Not Modified to a request that asked for the whole file");

    await writeFile(config, (await readFile(config, "utf8")).replace(server.url, `http://127.0.0.1:${port}`));
    const refused = await runShip(["--config", config]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    state = await stateOf(dir);
    expect(state?.last_result).toBe("failed_unchanged");
    expect(state?.last_error).toContain(`127.0.0.1:${port}`);
    expect(state?.last_error).not.toContain("HTTP 304");

    await writeFile(config, (await readFile(config, "utf8")).replace(`http://127.0.0.1:${port}`, server.url));
    answer = { version: "2.0.0" };
    const ok = await runShip(["--config", config]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    state = await stateOf(dir);
    expect(state).toMatchObject({ current_version: "2.0.0", last_result: "updated", last_error: null });
  });

  it("git: a remote that cannot be reached records last_error; --check-only records nothing", async () => {
    const dir = join(root, "git");
    const clone = join(dir, "clone");
    await mkdir(clone, { recursive: true });
    const port = await freePort();
    execFileSync("git", ["init", "-q", clone]);
    execFileSync("git", ["-C", clone, "remote", "add", "origin", `http://127.0.0.1:${port}/app.git`]);
    const { config } = await sourceApp(dir, `type = "git"\nlocal_path = "${clone}"\nbranch = "main"\n`);
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code).not.toBe(0);
    await expect(readFile(join(dir, "var/state.json"), "utf8")).rejects.toThrow(/ENOENT/);

    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const state = await stateOf(dir);
    expect(state?.last_result).toBe("failed_unchanged");
    expect(state?.last_error).toContain(`127.0.0.1:${port}`);
    expect(state?.current_version).toBeNull();
  });

  it.skipIf(!hasProgram("ssh-keygen"))(
    "sftp: a server that cannot be reached records last_error",
    async () => {
      const dir = join(root, "sftp");
      await mkdir(dir);
      const port = await freePort();
      const key = join(dir, "id_ed25519");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
      await writeFile(join(dir, "known_hosts"), "");
      const { config } = await sourceApp(
        dir,
        `type = "sftp"\nhostname = "127.0.0.1"\nport = ${port}\nusername = "ship"\nkey_filename = "${key}"\n` +
          `known_hosts = "${dir}/known_hosts"\nremote_path = "/srv/web.tar.gz"\n`,
      );
      const run = await runShip(["--config", config]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      const state = await stateOf(dir);
      expect(state?.last_result).toBe("failed_unchanged");
      expect(state?.last_error).toContain(`127.0.0.1:${port}`);
    },
  );
});
