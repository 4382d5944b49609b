/**
 * `ship … | head` closes the pipe early: both CLIs stop quietly with exit 0, never an EPIPE stack.
 * Real child processes whose stdout reader is gone before they write.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const bins = {
  ship: fileURLToPath(new URL("../../../dist/agent/cli/main.cjs", import.meta.url)),
  "ship-hub": fileURLToPath(new URL("../../../dist/hub/cli/main.js", import.meta.url)),
};

function runWithClosedStdout(bin: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("a CLI whose stdout is closed by the reader", () => {
  it.each(Object.entries(bins))("%s exits 0 without a stack trace", async (_name, bin) => {
    const { code, stderr } = await runWithClosedStdout(bin);
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
