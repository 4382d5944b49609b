/**
 * `ship --list-backups 2>&1 | head`, or a stderr whose reader quit: the first warning written after the
 * reader left failed with EPIPE, and that error was thrown — the command died with exit 1 while its
 * stdout still had a reader, the rest of the listing lost. A stderr that is gone now takes nothing;
 * stdout is written whole and the command ends with its own exit code (here 2: damaged backups).
 * Real CLI; the stderr pipe closed by this process before ship writes to it.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SHIP_BIN } from "../../support/ship-cli.js";
import { installedVersionsForFile, listedBackups } from "../apply/installed-versions.js";
import type { LocalApp } from "./local-app.js";

let app: LocalApp;

installedVersionsForFile(["1", "2"], (made) => {
  app = made;
});

function runWithStderrGone(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHIP_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr.destroy();
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout }));
  });
}

describe("a stderr whose reader is gone (real CLI)", () => {
  it("--list-backups --json with damaged backups: stdout whole, exit 2, not a crash", async () => {
    const listed = await listedBackups(app);
    const appBackups = join(String(listed[0]?.path), "..");
    for (let i = 0; i < 200; i++) {
      const dir = join(appBackups, `20200101T000000Z-damaged-${String(i).padStart(4, "0")}`);
      await mkdir(dir);
      await writeFile(join(dir, "meta.json"), `{"id":`);
    }
    for (const args of [
      ["--list-backups", "--json"],
      ["--list-backups", "--verbose", "--json"],
    ]) {
      const run = await runWithStderrGone(["--config", app.config, ...args]);
      expect(run.code, args.join(" ")).toBe(2);
      expect((JSON.parse(run.stdout) as { id: string }[]).map((b) => b.id)).toEqual(listed.map((b) => b.id));
    }
  });
});

/** ship with stderr on /dev/full: every write to it fails with ENOSPC, as on a full disk. */
function runWithStderrFull(args: string[]): Promise<{ code: number | null; stdout: string }> {
  const full = openSync("/dev/full", "w");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHIP_BIN, ...args], { stdio: ["ignore", "pipe", full] });
    closeSync(full);
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout }));
  });
}

describe("a stderr whose writes fail (2>>ship.err on a full disk; real CLI)", () => {
  it("an update runs to its end and says so on stdout, exit 0: its first log line used to end it with exit 1, nothing installed", async () => {
    await app.release("v3", 'version: "3.0.0"\nhooks:\n  post_update: ["echo ran > hook.txt"]\n', {
      "app.txt": "3",
    });
    const run = await runWithStderrFull(["--config", app.config]);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain("3.0.0");
    expect(await readFile(join(app.appDir, "hook.txt"), "utf8")).toBe("ran\n");
    const state = JSON.parse(await readFile(app.stateFile, "utf8")) as {
      sources: Record<string, { current_version: string }>;
    };
    expect(Object.values(state.sources)[0]?.current_version).toBe("3.0.0");
  });

  it("a refusal for bad input keeps its exit 2, not 1", async () => {
    const run = await runWithStderrFull(["--config", join(app.root, "missing.toml")]);
    expect(run.code).toBe(2);
  });
});
