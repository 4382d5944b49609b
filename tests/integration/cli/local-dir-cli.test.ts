/**
 * A local release directory as an operator runs it: read in place through the source's stat index,
 * staged by what changed, and never fooled by an edit that keeps a file's size and mtime.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unverifiedPaths } from "../../support/install-index-of.js";
import { runShip } from "../../support/ship-cli.js";

const FILES = 40;

describe("ship CLI with a local release directory", () => {
  let root: string;
  let release: string;
  let app: string;
  let config: string;
  const ship = (...args: string[]) => runShip(["--config", config, ...args]);
  /** The source's "staged local release directory" log line of a run. */
  const stagedLine = (stderr: string) =>
    stderr
      .split("\n")
      .filter((l) => l.includes("staged local release directory"))
      .map((l) => JSON.parse(l) as { files: number; unchanged: number })[0];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-localdir-"));
    release = join(root, "release");
    app = join(root, "app");
    config = join(root, "ship.toml");
    await mkdir(join(release, "lib"), { recursive: true });
    await writeFile(join(release, "update-manifest.yaml"), 'version: "1.0.0"\n');
    for (let i = 0; i < FILES; i++) await writeFile(join(release, "lib", `m${i}.py`), `print(${i})\n`);
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "local"\npath = "${release}"\napp_dir = "${app}"\n`,
    );
    // Files younger than the timestamp granularity are never trusted from the index ("racy").
    await new Promise((r) => setTimeout(r, 2200));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("installs, then stages only what changed, even an edit that kept size and mtime", async () => {
    const first = await ship();
    expect(first.code, first.stderr).toBe(0);
    expect(stagedLine(first.stderr)).toMatchObject({ files: FILES + 1, unchanged: 0 });
    expect((await ship("--check-only")).code).toBe(0);

    const file = join(release, "lib", "m7.py");
    const ref = join(root, "ref");
    await writeFile(ref, "");
    execFileSync("touch", ["-r", file, ref]);
    const before = await stat(file, { bigint: true });
    await writeFile(file, "print(X)\n");
    execFileSync("touch", ["-r", ref, file]);
    const after = await stat(file, { bigint: true });
    expect([after.size, after.mtimeNs]).toEqual([before.size, before.mtimeNs]);

    const check = await ship("--check-only");
    expect(check.code, check.stdout).toBe(100);
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect(await readFile(join(app, "lib", "m7.py"), "utf8")).toBe("print(X)\n");
    // The manifest (always staged) and the one changed file; the other files stayed where they were.
    expect(stagedLine(update.stderr)).toMatchObject({ files: 2, unchanged: FILES - 1 });
    expect((await ship("--check-only")).code).toBe(0);
  });

  it("an installed file edited on the host with its size and mtime put back is still found and put right", async () => {
    // The release leaves lib/m5.py as it is, so staging trusts the install index; the planner's stat
    // of the app sees the ctime the edit moved, hashes the file and installs the release's copy.
    const file = join(app, "lib", "m5.py");
    const ref = join(root, "ref-app");
    await writeFile(ref, "");
    execFileSync("touch", ["-r", file, ref]);
    const before = await stat(file, { bigint: true });
    await writeFile(file, "print(Y)\n");
    execFileSync("touch", ["-r", ref, file]);
    const after = await stat(file, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    await writeFile(join(release, "lib", "m6.py"), "print(6.1)\n");
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect(await readFile(file, "utf8")).toBe("print(5)\n");
    expect(await readFile(join(app, "lib", "m6.py"), "utf8")).toBe("print(6.1)\n");
    expect((await ship("--check-only")).code).toBe(0);
  });

  it("a change of mode alone installs from the app's own bytes", async () => {
    await chmod(join(release, "lib", "m3.py"), 0o755);
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect((await stat(join(app, "lib", "m3.py"))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(app, "lib", "m3.py"), "utf8")).toBe("print(3)\n");
  });

  it("files edited or deleted in the app since the install are staged when the plan finds them", async () => {
    // Staging trusts the install index alone; the planner's stat of the app catches these two.
    await writeFile(join(app, "lib", "m11.py"), "print('local edit')\n");
    await rm(join(app, "lib", "m12.py"));
    await writeFile(join(release, "lib", "m13.py"), "print(13.1)\n");
    // A umask narrows every file's mode: late-staged files get the narrowed mode too.
    await writeFile(
      join(release, "update-manifest.yaml"),
      'version: "1.1.0"\npermissions:\n  umask: "027"\n',
    );
    // lib/m3.py, which the last update wrote, is staged too when its stamp had not settled (the
    // update recorded it within the racy window rather than wait: finalize-update.ts).
    const unsettled = await unverifiedPaths(join(root, "var"), ["lib/m3.py"]);
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect(stagedLine(update.stderr)).toMatchObject({ files: 2, unchanged: FILES - 1 });
    expect(update.stderr).toContain(
      `"files":${2 + unsettled.length},"msg":"staging release files the app no longer holds"`,
    );
    expect(await readFile(join(app, "lib", "m11.py"), "utf8")).toBe("print(11)\n");
    expect(await readFile(join(app, "lib", "m12.py"), "utf8")).toBe("print(12)\n");
    expect(await readFile(join(app, "lib", "m13.py"), "utf8")).toBe("print(13.1)\n");
    for (const name of ["m11.py", "m12.py", "m13.py", "m20.py"])
      expect((await stat(join(app, "lib", name))).mode & 0o777, name).toBe(0o640);
    expect((await ship("--check-only")).code).toBe(0);
  });
});

describe("an update with a merge rule leaves ICU unloaded", () => {
  const ICU_TRACER = fileURLToPath(new URL("../../support/icu-trace.cjs", import.meta.url));
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-localdir-icu-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("installs and updates a release whose manifest merges TOML without a locale-aware call (each costs ICU's ~20-30 ms start)", async () => {
    const release = join(root, "release");
    const config = join(root, "ship.toml");
    const trace = join(root, "icu-trace.txt");
    await mkdir(join(release, "config"), { recursive: true });
    const manifest = (version: string) =>
      `version: "${version}"\nfiles:\n  "config/*.toml": { action: merge_toml }\n  "logs/**": { action: skip }\n`;
    await writeFile(join(release, "update-manifest.yaml"), manifest("1.0.0"));
    await writeFile(join(release, "config", "app.toml"), "[server]\nport = 8080\n");
    await writeFile(join(release, "main.py"), "print(1)\n");
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "local"\npath = "${release}"\napp_dir = "${join(root, "app")}"\n`,
    );
    const env = { SHIP_ICU_TRACE: trace, NODE_OPTIONS: `--require ${ICU_TRACER}` };
    const install = await runShip(["--config", config], { env });
    expect(install.code, install.stderr).toBe(0);
    await writeFile(join(root, "app", "config", "app.toml"), "[server]\nport = 9090\n");
    await writeFile(join(release, "update-manifest.yaml"), manifest("2.0.0"));
    await writeFile(join(release, "config", "app.toml"), "[server]\nport = 8080\nworkers = 4\n");
    const update = await runShip(["--config", config], { env });
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toContain("2.0.0");
    // The merge ran: the host's port kept, the release's new key added.
    expect(await readFile(join(root, "app", "config", "app.toml"), "utf8")).toMatch(
      /port = 9090[\s\S]*workers = 4/,
    );
    expect(existsSync(trace) ? await readFile(trace, "utf8") : "").toBe("");
  });
});
