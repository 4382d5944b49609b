/**
 * A file the operator names is read up to a bound (16 MiB): `ship --test-manifest /dev/zero`, a
 * ship.toml, a trusted key file or the hub token file that was a device (or a log file given by
 * mistake) read until Node gave up ("Invalid string length", out of memory) minutes later, or
 * printed that as the reason. Now one line names the file and the bound, exit 2. A pipe within the
 * bound still reads. Real CLI, real devices and files.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAgentBriefly, runShip, SHIP_BIN } from "../../support/ship-cli.js";

const BOUND = "16 MiB (16777216 bytes)";
const DEVICE = `/dev/zero is a device, not a file, and gave more than ${BOUND}`;

describe("files ship is given are read up to a bound (real CLI)", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-bounded-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("a manifest or ship.toml that is /dev/zero or over 16 MiB: one line, exit 2", async () => {
    const big = join(root, "big.yaml");
    await writeFile(big, "");
    await truncate(big, 16 * 1024 * 1024 + 1);
    const cases: [string[], string][] = [
      [["--test-manifest", "/dev/zero"], `ship: ${DEVICE}, the most ship reads of a manifest\n`],
      [["--test-manifest", big], `ship: ${big} is larger than ${BOUND}, the most ship reads of a manifest\n`],
      [["--config", "/dev/zero", "--check-only"], `ship: ${DEVICE}, the most ship reads of a config file\n`],
      [
        ["--config", big, "--check-only"],
        `ship: ${big} is larger than ${BOUND}, the most ship reads of a config file\n`,
      ],
    ];
    for (const [args, line] of cases) {
      const run = await runShip(args, { timeoutMs: 60_000 });
      expect(run.stderr, args.join(" ")).toBe(line);
      expect(run.code, args.join(" ")).toBe(2);
    }
  });

  it("a trusted key file or the hub token file that is /dev/zero: one line naming the key, exit 2", async () => {
    const config = join(root, "ship.toml");
    const state = `[general]\nstate_file = "${root}/state.json"\nbackup_dir = "${root}/backups"\n`;
    const source = `[sources.web]\ntype = "local"\npath = "${root}/rel"\napp_dir = "${root}/app"\n`;
    await writeFile(config, `${state}${source}[trust]\nkey_files = ["/dev/zero"]\n`);
    const run = await runShip(["--config", config, "--check-only"], { timeoutMs: 60_000 });
    expect(run.stderr).toMatch(new RegExp(`${config}:\\d+:\\d+ trust\\.key_files\\[0\\]: `));
    expect(run.stderr).toContain(`trust.key_files[0]: ${DEVICE}`);
    expect(run.code).toBe(2);

    await writeFile(
      config,
      `${state}[hub]\nurl = "http://127.0.0.1:1"\ntoken_file = "/dev/zero"\nagent_id = "a1"\n[sources.web]\ntype = "hub"\napp_dir = "${root}/app"\n`,
    );
    const agent = await runAgentBriefly(config);
    expect(agent.stderr).toMatch(new RegExp(`${config}:\\d+:\\d+ hub\\.token_file: `));
    expect(agent.stderr).toContain(`hub.token_file: ${DEVICE}, the most ship reads of one file\n`);
    expect(agent.code).toBe(2);
  });

  it("a manifest from a pipe within the bound still reads", () => {
    // `… | ship --test-manifest /dev/stdin`: stdin a pipe (a spawned child's is a socket, which /dev/stdin cannot open).
    const run = spawnSync(
      "sh",
      ["-c", `printf 'version: "1.2.3"\\n' | "${process.execPath}" "${SHIP_BIN}" --test-manifest /dev/stdin`],
      { encoding: "utf8" },
    );
    expect(run.stdout).toContain("valid manifest for version 1.2.3");
    expect(run.status, run.stderr).toBe(0);
  });
});
