/**
 * A file the operator names is read up to a bound (16 MiB): `ship --test-manifest /dev/zero`, a
 * ship.toml, a trusted key file or the hub token file that was a device (or a log file given by
 * mistake) read until Node gave up ("Invalid string length", out of memory) minutes later, or
 * printed that as the reason. Now one line names the file and the bound, exit 2. A pipe within the
 * bound still reads. A named pipe (mkfifo) is refused before it is opened: its open waited for a
 * writer for ever, so a run whose ca_file, checksum, key file or --config named one printed nothing,
 * held its lock and did not end on SIGTERM. Real CLI, real devices, FIFOs and files.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HUB_BIN } from "../../support/hub-cli.js";
import { runAgentBriefly, runNodeScript, runShip, SHIP_BIN } from "../../support/ship-cli.js";

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

  it("every file a key or flag names that is a named pipe: one line naming it, exit 2, nothing written", async () => {
    const fifo = join(root, "fifo");
    execFileSync("mkfifo", [fifo]);
    await mkdir(join(root, "app"));
    await mkdir(join(root, "rel"));
    await writeFile(join(root, "rel/update-manifest.yaml"), 'version: "2.0.0"\n');
    const state = `[general]\nstate_file = "${root}/state.json"\nbackup_dir = "${root}/backups"\n`;
    const app = `app_dir = "${root}/app"\n`;
    const local = `[sources.web]\ntype = "local"\npath = "${root}/rel"\n${app}`;
    const https = `[sources.web]\ntype = "https"\nurl = "https://127.0.0.1:1/web.tar.gz"\n${app}`;
    const sftp = `[sources.web]\ntype = "sftp"\nhostname = "127.0.0.1"\nusername = "u"\nremote_path = "/r"\n${app}`;
    const refused = `cannot read ${fifo}: it is a named pipe (fifo), not a file`;
    const configs: [string, string][] = [
      [`${https}ca_file = "${fifo}"\n`, "sources.web.ca_file"],
      [`${https}checksum = "${fifo}"\n`, "sources.web.checksum"],
      [`${sftp}key_filename = "${fifo}"\n`, "sources.web.key_filename"],
      [`${local}[trust]\nkey_files = ["${fifo}"]\n`, "trust.key_files[0]"],
    ];
    const config = join(root, "ship.toml");
    const runs = configs.map(async ([body, key], i) => {
      const file = join(root, `ship-${i}.toml`);
      await writeFile(file, `${state}${body}`);
      const run = await runShip(["--config", file, "--force"], { timeoutMs: 20_000 });
      expect(run.stderr, key).toMatch(
        new RegExp(`^ship: ${file}:\\d+:\\d+ ${key.replace(/[[\]]/g, "\\$&")}: `),
      );
      expect(run.stderr, key).toContain(`${refused}\n`);
      expect(run.code, key).toBe(2);
    });
    await writeFile(
      config,
      `${state}[hub]\nurl = "http://127.0.0.1:1"\ntoken_file = "${fifo}"\nagent_id = "a1"\n[sources.web]\ntype = "hub"\n${app}`,
    );
    const agent = runAgentBriefly(config).then((run) => {
      expect(run.stderr).toContain(`hub.token_file: ${refused}\n`);
      expect(run.code).toBe(2);
    });
    const pipe = "it is a named pipe (fifo), not a file";
    const flags: [string, string[], string][] = [
      [SHIP_BIN, ["--config", fifo, "--force"], `ship: ${fifo} cannot read the config: ${pipe}`],
      [SHIP_BIN, ["--test-manifest", fifo], `ship: ${fifo} cannot read the manifest: ${pipe}`],
      [HUB_BIN, ["serve", "--config", fifo, "--port", "0"], `ship-hub: ${fifo} cannot read: ${pipe}`],
      [
        HUB_BIN,
        ["agents", "--hub", "http://127.0.0.1:1", "--token-file", fifo],
        `ship-hub: --token-file ${refused}`,
      ],
    ];
    const flagRuns = flags.map(async ([bin, args, line]) => {
      const run = await runNodeScript(bin, args, { cwd: root, timeoutMs: 20_000 });
      expect(run.stderr, args.join(" ")).toBe(`${line}\n`);
      expect(run.code, args.join(" ")).toBe(2);
    });
    await Promise.all([...runs, agent, ...flagRuns]);
    expect(await readdir(join(root, "app"))).toEqual([]);
    expect((await readdir(root)).filter((name) => ["state.json", "backups"].includes(name))).toEqual([]);
  }, 60_000);

  it("a config from the shell's <(…) still reads", () => {
    const run = spawnSync(
      "bash",
      [
        "-c",
        `"${process.execPath}" "${SHIP_BIN}" --config <(printf '[general]\\nbogus_key = 1\\n') --check-only`,
      ],
      { encoding: "utf8", cwd: root },
    );
    expect(run.stderr).toContain('unknown key "bogus_key"');
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
