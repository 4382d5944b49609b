/**
 * The agent CLI keeps one V8 code cache per command beside its bundle, written once by the first run
 * of that command, holding what that run compiled (shared/cli/code-cache.ts). In a test run that
 * first run is whichever test gets there first; when that is a refusal that stops at the config, the
 * `run` cache holds the config reader and little else, and every later update in the suite
 * (thousands of `ship` processes) compiles the pipeline again. Callgrind, one process in the tests' environment
 * (NODE_EXTRA_CA_CERTS empty), with the cache a refusal made against one an update made: an update of
 * a local app 551 M → 453 M instructions (−18 %), a --check-only 403 M → 372 M, a refusal 336 M → 346 M.
 *
 * So before any test runs, the commands the tests run most are made once as an operator's ordinary
 * day makes them: an update from 1.0.0 to 2.0.0 (backup, a TOML merge, hooks, a health check),
 * --list-backups and --rollback, and `ship agent`'s by a daemon started and stopped (its cache is
 * written only by a stop after a start); not again once the build has its caches. The tests of the cache
 * itself work on copies of the bundle or accept a cache that was there before them.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { SHIP_BIN } from "./ship-cli.js";

function release(dir: string, version: string, settings: string): void {
  const files: Record<string, string> = {
    "update-manifest.yaml": [
      `version: "${version}"`,
      "files:",
      '  "config/*.toml": {action: merge_toml}',
      "hooks:",
      '  pre_update: ["true"]',
      '  post_update: ["true"]',
      "post_update_tests:",
      '  - { name: health, command: "true" }',
      "",
    ].join("\n"),
    "app.txt": `${version}\n`,
    "config/settings.toml": settings,
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
}

/** `ship ARGS` with the tests' flags (none) and environment; throws with its output unless it exits 0. */
function ship(args: string[], verbose = false): string {
  const run = spawnSync(process.execPath, [SHIP_BIN, ...args, ...(verbose ? ["--verbose"] : [])], {
    encoding: "utf8",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: "" },
  });
  if (run.status !== 0)
    throw new Error(`warming ship's code caches: ship ${args.join(" ")} exited ${run.status}: ${run.stderr}`);
  return run.stdout;
}

export function warmCodeCaches(): void {
  if (!existsSync(SHIP_BIN)) return; // not built: the tests that run it say so
  // Made already (by an earlier run since the build, which removes them): a run of one file costs nothing.
  const bundle = join(dirname(SHIP_BIN), "bundle");
  if (readdirSync(bundle).some((name) => name.endsWith(".cjs.run.v8cache"))) return;
  const root = mkdtempSync(join(tmpdir(), "ship-warm-caches-"));
  try {
    const config = join(root, "ship.toml");
    const writeConfig = (releaseDir: string) =>
      writeFileSync(
        config,
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n[sources.myapp]\ntype = "local"\npath = "${releaseDir}"\napp_dir = "${root}/app"\n`,
      );
    mkdirSync(join(root, "app"));
    release(join(root, "r1"), "1.0.0", 'port = 80\n[db]\nhost = "a"\n');
    writeConfig(join(root, "r1"));
    // --verbose runs the uncached ES module build: the install makes no cache, the update does.
    ship(["--config", config, "--force"], true);
    writeFileSync(join(root, "app/config/settings.toml"), 'port = 8080\n[db]\nhost = "a"\n');
    release(join(root, "r2"), "2.0.0", 'port = 80\n[db]\nhost = "b"\nuser = "app"\n');
    writeConfig(join(root, "r2"));
    ship(["--config", config, "--force"]);
    ship(["--config", config, "--list-backups"]);
    const [newest] = readdirSync(join(root, "var/backups/myapp"))
      .filter((name) => name.startsWith("myapp-") && !name.includes("."))
      .sort()
      .reverse();
    ship(["--config", config, "--rollback", String(newest)]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * `ship agent`'s cache: a daemon whose hub is a closed port on this machine, stopped (SIGTERM) once it
 * logged its start, which writes the cache of what its start compiled.
 */
export async function warmAgentCodeCache(): Promise<void> {
  if (!existsSync(SHIP_BIN)) return;
  const bundle = join(dirname(SHIP_BIN), "bundle");
  if (readdirSync(bundle).some((name) => name.endsWith(".cjs.agent.v8cache"))) return;
  const root = mkdtempSync(join(tmpdir(), "ship-warm-agent-"));
  try {
    writeFileSync(join(root, "hub.token"), "warm-code-caches-token\n", { mode: 0o600 });
    mkdirSync(join(root, "app"));
    const config = join(root, "ship.toml");
    writeFileSync(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\n\n[hub]\nurl = "http://127.0.0.1:9"\ntoken_file = "${root}/hub.token"\nagent_id = "warm"\n\n[sources.myapp]\ntype = "hub"\napp_dir = "${root}/app"\n`,
    );
    const child = spawn(process.execPath, [SHIP_BIN, "agent", "--config", config], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: "" },
    });
    let stderr = "";
    let stopping = false;
    // A daemon that never logs its start is the fault the suite's agent tests will name.
    const stuck = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const exited = new Promise<number | null>((done) => child.on("close", done));
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      // Once: a second signal stops the daemon at once (128+signal), without its cache.
      if (stderr.includes('"agent started"') && !stopping) {
        stopping = true;
        child.kill("SIGTERM");
      }
    });
    const code = await exited;
    clearTimeout(stuck);
    if (code !== 0) throw new Error(`warming ship's code caches: ship agent exited ${code}: ${stderr}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
