import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOnPath } from "../../../agent/conditions/find-on-path.js";
import { MAX_QUOTED_LINE } from "../../../agent/exec/run-command.js";
import { checkRequirements } from "../../../agent/requirements/check.js";
import { Requirements } from "../../../shared/manifest/schema.js";

let root: string;
let appDir: string;
let fakeBin: string;
let emptyBin: string;

function script(dir: string, name: string, body: string): void {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "ship-req-"));
  appDir = join(root, "app");
  fakeBin = join(root, "bin");
  emptyBin = join(root, "empty");
  for (const dir of [appDir, fakeBin, emptyBin]) mkdirSync(dir);
  writeFileSync(join(appDir, "marker"), "");
  script(appDir, "local-tool", "exit 0");
  writeFileSync(join(appDir, "not-executable"), "");
  script(fakeBin, "python3", 'echo "Python 3.9.7"');
  // systemctl is-active --quiet -- NAME: only "postgresql" is active on this pretend host.
  script(fakeBin, "systemctl", '[ "$4" = postgresql ]');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const withFakes = () => ({ PATH: `${fakeBin}:${process.env.PATH}` });
const req = (input: unknown) => Requirements.parse(input);

describe("checkRequirements", () => {
  it("compares python3's version numerically, not as text", async () => {
    const met = await checkRequirements(req({ min_python_version: "3.8" }), { appDir, env: withFakes() });
    expect(met).toEqual({
      ok: true,
      results: [{ name: "min_python_version", ok: true, detail: "python3 is 3.9.7" }],
    });
    const unmet = await checkRequirements(req({ min_python_version: "3.10" }), { appDir, env: withFakes() });
    expect(unmet.ok).toBe(false);
    expect(unmet.results[0]?.detail).toBe("python3 is 3.9.7, need ≥ 3.10");
  });

  it("reads a version printed on stderr, and counts a missing python3 as unmet", async () => {
    const stderrBin = join(root, "stderr-bin");
    mkdirSync(stderrBin, { recursive: true });
    script(stderrBin, "python3", 'echo "Python 3.12.1" >&2');
    const old = await checkRequirements(req({ min_python_version: "3.12" }), {
      appDir,
      env: { PATH: stderrBin },
    });
    expect(old.results[0]).toMatchObject({ ok: true, detail: "python3 is 3.12.1" });
    const none = await checkRequirements(req({ min_python_version: "3.8" }), {
      appDir,
      env: { PATH: emptyBin },
    });
    expect(none.results[0]).toMatchObject({ ok: false, detail: "python3 not found (need ≥ 3.8)" });
  });

  it("measures free space on the nearest existing parent of an app not installed yet", async () => {
    const future = join(root, "not", "yet", "there");
    const small = await checkRequirements(req({ min_disk_space_mb: 1 }), { appDir: future });
    expect(small.results[0]).toMatchObject({ name: "min_disk_space_mb", ok: true });
    expect(small.results[0]?.detail).toMatch(new RegExp(`^\\d+ MB free on ${root}$`));
    const huge = await checkRequirements(req({ min_disk_space_mb: 2 ** 30 }), { appDir });
    expect(huge.ok).toBe(false);
    expect(huge.results[0]?.detail).toMatch(/MB free on .*app, need 1073741824 MB$/);
  });

  it("a free-space check that cannot read says why in words, not Node's errno text", async () => {
    const underFile = join(appDir, "marker", "app");
    const report = await checkRequirements(req({ min_disk_space_mb: 1 }), { appDir: underFile });
    expect(report.results[0]).toMatchObject({
      name: "min_disk_space_mb",
      ok: false,
      detail: `cannot read free space of ${underFile}: a component of the path is not a directory (ENOTDIR)`,
    });
  });

  it("finds required commands on PATH and by path relative to the app", async () => {
    const report = await checkRequirements(
      req({ required_commands: ["sh", "no-such-command-xyz", "./local-tool", "./not-executable"] }),
      { appDir },
    );
    expect(report.results.map((r) => [r.name, r.ok])).toEqual([
      ["required_commands.sh", true],
      ["required_commands.no-such-command-xyz", false],
      ["required_commands../local-tool", true],
      ["required_commands../not-executable", false],
    ]);
    expect(report.results[1]?.detail).toBe("no-such-command-xyz not found on PATH");
  });

  it("says a required command with arguments names a program, not a command line", async () => {
    const report = await checkRequirements(
      req({ required_commands: ["sh -c true", "no-such-xyz --version"] }),
      {
        appDir,
      },
    );
    const sh = findOnPath("sh");
    expect(report.results.map((r) => [r.ok, r.detail])).toEqual([
      [
        false,
        `sh -c true not found on PATH (an item names a program, not a command line: sh is at ${sh}; write "sh", or check a version with environment_checks)`,
      ],
      [false, "no-such-xyz --version not found on PATH"],
    ]);
  });

  it("asks systemd about services, and searches the process list without systemd", async () => {
    const services = req({ required_services: ["postgresql", "redis"] });
    const withSystemd = await checkRequirements(services, { appDir, env: withFakes(), systemd: true });
    expect(withSystemd.results.map((r) => [r.name, r.ok])).toEqual([
      ["required_services.postgresql", true],
      ["required_services.redis", false],
    ]);
    // As service_running() does: a container's service is a process of that name. A real one runs.
    const serviceName = `shipsvc${process.pid % 100000}`;
    const binary = join(root, serviceName);
    copyFileSync(execFileSync("sh", ["-c", "command -v sleep"], { encoding: "utf8" }).trim(), binary);
    chmodSync(binary, 0o755);
    const child = spawn(binary, ["30"], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const without = await checkRequirements(
        req({ required_services: [serviceName, `${serviceName}.service`, "no-such-svc-x"] }),
        {
          appDir,
          systemd: false,
        },
      );
      expect(without.ok).toBe(false);
      expect(without.results).toEqual([
        {
          name: `required_services.${serviceName}`,
          ok: true,
          detail: "running (no systemd on this host: a process of that name runs, pgrep -x)",
        },
        {
          // systemctl's unit name: the process is the name without `.service`.
          name: `required_services.${serviceName}.service`,
          ok: true,
          detail: "running (no systemd on this host: a process of that name runs, pgrep -x)",
        },
        {
          name: "required_services.no-such-svc-x",
          ok: false,
          detail:
            "no process named no-such-svc-x is running (no systemd on this host, so the process list was searched: pgrep -x)",
        },
      ]);
    } finally {
      child.kill();
    }
  });

  it("runs environment checks in the app directory with their timeout", async () => {
    const started = Date.now();
    const report = await checkRequirements(
      req({
        environment_checks: [
          { name: "marker", command: "test -f marker" },
          { name: "db", command: "echo connection refused >&2; exit 3" },
          { name: "hangs", command: "sleep 10", timeout: 0.2 },
        ],
      }),
      { appDir },
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(report.results).toEqual([
      { name: "environment_checks.marker", ok: true, detail: "passed (test …)" },
      {
        name: "environment_checks.db",
        ok: false,
        detail: "exit code 3 (echo …): connection refused",
      },
      {
        name: "environment_checks.hangs",
        ok: false,
        detail: "timed out after 0.2 s and was killed (sleep …)",
      },
    ]);
  });

  it("quotes only the end of a check's megabyte-long last line", async () => {
    const command = "head -c 2000000 /dev/zero | tr '\\0' x; echo ': database unreachable'; exit 1";
    const report = await checkRequirements(req({ environment_checks: [{ name: "db", command }] }), {
      appDir,
    });
    const detail = report.results[0]?.detail ?? "";
    expect(detail.endsWith("xxx: database unreachable")).toBe(true);
    expect(detail.length).toBe("exit code 1 (head …): ".length + MAX_QUOTED_LINE);
  });

  it("lists every unmet item, not just the first", async () => {
    const report = await checkRequirements(
      req({
        min_python_version: "99",
        min_disk_space_mb: 2 ** 30,
        required_commands: ["no-such-command-xyz", "sh"],
        required_services: ["postgresql"],
        environment_checks: [{ name: "fails", command: "false" }],
      }),
      { appDir, env: withFakes(), systemd: false },
    );
    expect(report.ok).toBe(false);
    expect(report.results.filter((r) => !r.ok).map((r) => r.name)).toEqual([
      "min_python_version",
      "min_disk_space_mb",
      "required_commands.no-such-command-xyz",
      "required_services.postgresql",
      "environment_checks.fails",
    ]);
  });

  it("is met when nothing is required", async () => {
    expect(await checkRequirements(req({}), { appDir })).toEqual({ ok: true, results: [] });
  });
});
