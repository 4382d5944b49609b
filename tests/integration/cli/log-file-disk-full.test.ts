/**
 * `[general.logging] file` on a disk that is full (/var/log filled by another program) while the
 * app's own filesystem has room: the first log line threw out of the log call, and the run ended
 * with "ship: internal error: ENOSPC: no space left on device, write", exit 1, nothing installed,
 * on every run until someone freed /var/log. A log that cannot be written is now said once on
 * stderr, naming the file and the reason, and the update runs to its end with its own exit code.
 * Real CLI, a real full tmpfs under the log file.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
let logs: string;
let mounted = false;

beforeEach(async () => {
  app = await localApp();
  logs = join(app.root, "logs");
  await mkdir(logs);
  mounted = mountTmpfs(logs, "64k");
});
afterEach(async () => {
  if (mounted) unmountTmpfs(logs);
  await app.cleanup();
});

describe("a log file on a full disk (real CLI, real tmpfs)", () => {
  it("the update runs to its end, exit 0, and stderr names the log file and why it is not written", async (ctx) => {
    if (!mounted) ctx.skip();
    await app.release("v1", 'version: "1.0.0"\nhooks:\n  post_update: ["echo ran > hook.txt"]\n', {
      "a.txt": "1",
    });
    const logFile = join(logs, "ship.log");
    await writeFile(logFile, "");
    // Fill the disk: the write that does not fit fails, leaving it full.
    await writeFile(join(logs, "fill"), Buffer.alloc(128 * 1024)).catch(() => undefined);
    const config = await readFile(app.config, "utf8");
    await writeFile(
      app.config,
      config.replace("[sources.myapp]", `[general.logging]\nfile = "${logFile}"\n\n[sources.myapp]`),
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "a.txt"), "utf8")).toBe("1");
    expect(await readFile(join(app.appDir, "hook.txt"), "utf8")).toBe("ran\n");
    expect(run.stderr).not.toContain("internal error");
    expect(run.stderr.split("\n").filter((line) => line.includes(logFile))).toEqual([
      `ship: warning: ${logFile} ([general.logging] file) cannot be written: no space left on device (ENOSPC); log lines are dropped until it can be written again`,
    ]);
  });
});
