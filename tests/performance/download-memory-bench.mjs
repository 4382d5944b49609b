#!/usr/bin/env node
// Memory benchmark (DESIGN.md "Streams, not buffers"): peak RSS of the real agent CLI installing a
// 1 GB release over HTTP (download, sha256 verify, extract, apply), next to what a naive reader
// (`readFileSync` of the artifact) and `curl -o` need for the same file in the same run.
//
//   npm run build && node tests/performance/download-memory-bench.mjs   (1 GB artifact)
//   BENCH_SCALE=0.05 node tests/performance/download-memory-bench.mjs  (~51 MB)
//   BENCH_DIR=/somewhere ...                                           (default: the OS temp dir)
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import {
  benchScale,
  fmt,
  machineNote,
  printTable,
  procStatusKb,
  repoRoot,
  startNode,
  stopChild,
} from "./bench-support.mjs";

const MB = 1024 * 1024;
const TARGET_MB = 200;
const FILES = 16;
const artifactMb = Math.max(8, Math.round(1024 * benchScale()));
const benchDir = process.env.BENCH_DIR ?? tmpdir();
mkdirSync(benchDir, { recursive: true });
const work = mkdtempSync(join(benchDir, "ship-download-bench-"));
let server;

try {
  const artifact = await buildRelease(artifactMb);
  const sha256 = await sha256Of(artifact);
  const { size } = await stat(artifact);
  server = startNode([join(repoRoot, "tests/performance/artifact-server.mjs"), artifact], {
    ready: /serving on (\S+)/,
  });
  const [, url] = await server.started;

  const agent = await runAgent(url, sha256);
  const naive = await measured(process.execPath, [
    "-e",
    "const b = require('node:fs').readFileSync(process.argv[1]); if (b.length === 0) process.exit(1)",
    artifact,
  ]);
  const curl = existsSync("/usr/bin/curl")
    ? await measured("/usr/bin/curl", ["-sSf", "-o", join(work, "curl.out"), url])
    : undefined;

  const mark = (kb) => (kb / 1024 < TARGET_MB ? "yes" : "NO");
  printTable(
    `memory: installing a ${fmt.int(size / MB)} MB release (${FILES} files of random data, tar.gz) over HTTP`,
    ["method", "peak RSS", "wall time", `< ${TARGET_MB} MB`],
    [
      [
        "ship (agent CLI: download + verify + extract + apply)",
        fmt.kb(agent.maxRssKb),
        fmt.ms(agent.wallMs),
        mark(agent.maxRssKb),
      ],
      ["  floor: the same CLI and config, --list-backups", fmt.kb(agent.floorKb), "", ""],
      [
        "naive: readFileSync of the artifact (node -e)",
        fmt.kb(naive.maxRssKb),
        fmt.ms(naive.wallMs),
        mark(naive.maxRssKb),
      ],
      ...(curl
        ? [["curl -o (download only)", fmt.kb(curl.maxRssKb), fmt.ms(curl.wallMs), mark(curl.maxRssKb)]]
        : []),
    ],
  );
  console.log(
    `installed ${fmt.int(agent.installedBytes / MB)} MB into the app dir; measured on ${machineNote()}`,
  );
} finally {
  if (server) await stopChild(server.child);
  rmSync(work, { recursive: true, force: true });
}

/** A release of FILES files of random bytes plus its manifest, packed to tar.gz without holding it in memory. */
async function buildRelease(totalMb) {
  const dir = join(work, "release");
  mkdirSync(join(dir, "data"), { recursive: true });
  writeFileSync(join(dir, "update-manifest.yaml"), 'version: "2.0.0"\ndescription: memory benchmark\n');
  // One random MiB written over and over: deflate only looks back 32 KiB, so this is as
  // incompressible as fresh random data and far cheaper to make.
  const block = randomBytes(MB);
  const perFile = Math.max(1, Math.floor(totalMb / FILES));
  for (let f = 0; f < FILES; f++) {
    const out = createWriteStream(join(dir, "data", `blob-${f}.bin`));
    for (let i = 0; i < perFile; i++) {
      block.writeUInt32LE(f * perFile + i, 0);
      if (!out.write(Buffer.from(block))) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
  }
  const artifact = join(work, "bigapp-2.0.0.tar.gz");
  await createTar({ gzip: { level: 1 }, file: artifact, cwd: dir, portable: true }, [
    "update-manifest.yaml",
    "data",
  ]);
  rmSync(dir, { recursive: true, force: true });
  return artifact;
}

async function runAgent(url, sha256) {
  const root = join(work, "agent");
  mkdirSync(join(root, "app"), { recursive: true });
  const config = join(root, "ship.toml");
  writeFileSync(
    config,
    [
      "[general]",
      `state_file = "${root}/state.json"`,
      `backup_dir = "${root}/backups"`,
      `work_dir = "${root}/work"`,
      `lock_file = "${root}/ship.lock"`,
      "min_interval_hours = 0",
      "",
      "[sources.bigapp]",
      'type = "http"',
      `url = "${url}"`,
      `checksum = "sha256:${sha256}"`,
      `app_dir = "${root}/app"`,
      "max_download_mb = 4096",
      "",
    ].join("\n"),
  );
  const cli = join(repoRoot, "dist/agent/cli/main.cjs");
  const result = await measured(process.execPath, [cli, "--config", config, "--force"]);
  if (result.status !== 0) throw new Error(`agent exited ${result.status}:\n${result.output}`);
  // The same CLI and config doing no transfer: what the process costs before any artifact.
  const floor = await measured(process.execPath, [cli, "--config", config, "--list-backups"]);
  return { ...result, floorKb: floor.maxRssKb, installedBytes: await treeBytes(join(root, "app")) };
}

/** Runs a command and reports its peak RSS: /usr/bin/time -v when installed, else VmHWM polled from /proc. */
async function measured(command, args) {
  const timed = existsSync("/usr/bin/time");
  const started = performance.now();
  const child = timed
    ? spawn("/usr/bin/time", ["-v", command, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => {
    output += d;
  });
  child.stderr.on("data", (d) => {
    output += d;
  });
  let polledKb = 0;
  const poll = timed
    ? undefined
    : setInterval(() => {
        polledKb = Math.max(polledKb, procStatusKb(child.pid, "VmHWM") ?? 0);
      }, 20);
  const [status] = await once(child, "exit");
  const wallMs = performance.now() - started;
  clearInterval(poll);
  const reported = /Maximum resident set size \(kbytes\): (\d+)/.exec(output);
  return { status, wallMs, maxRssKb: reported ? Number(reported[1]) : polledKb, output };
}

async function sha256Of(file) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest("hex");
}

async function treeBytes(dir) {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) total += (await stat(join(entry.parentPath ?? entry.path, entry.name))).size;
  return total;
}
