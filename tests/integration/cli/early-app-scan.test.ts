/**
 * The app scan that runs on a worker thread while the source checks and stages (agent/apply/early-scan.ts),
 * through the built CLI: used when nothing between it and the apply may change the app, and never when
 * a pre_update hook runs (the hook's changes must be planned for) or the protected directories change.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

/** The apply's "applied update" log line of a run: where its app scan came from. */
function appScanOf(stderr: string): string | undefined {
  const line = stderr.split("\n").find((l) => l.includes('"msg":"applied update"'));
  return line === undefined ? undefined : (JSON.parse(line) as { appScan?: string }).appScan;
}

describe("the early app scan, through the CLI", () => {
  let t: LocalApp;
  // The early scan whatever this machine's load (it is skipped when no core is free).
  const ship = () => runShip(["--config", t.config], { env: { SHIP_EARLY_APP_SCAN: "1" } });
  const files = (version: string) => ({ "app.txt": `${version}\n`, "keep.txt": "same in every release\n" });

  beforeAll(async () => {
    t = await localApp();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it("a first install scans at the apply; the next update scans early and installs the same", async () => {
    await t.release("r1", 'version: "1.0.0"\n', files("1.0.0"));
    const first = await ship();
    expect(first.code, first.stderr).toBe(0);
    expect(appScanOf(first.stderr)).toBe("at apply");
    await t.release("r2", 'version: "2.0.0"\n', files("2.0.0"));
    await writeFile(join(t.appDir, "keep.txt"), "edited in the app before the run\n");
    const second = await ship();
    expect(second.code, second.stderr).toBe(0);
    expect(appScanOf(second.stderr)).toBe("early");
    expect(await readFile(join(t.appDir, "app.txt"), "utf8")).toBe("2.0.0\n");
    expect(await readFile(join(t.appDir, "keep.txt"), "utf8")).toBe("same in every release\n");
  });

  it("a pre_update hook's changes to the app are planned for: the scan waits for the hook", async () => {
    // The hook deletes a file the release leaves unchanged: a scan from before the hook would keep it.
    const hook = `rm -f ${join(t.appDir, "keep.txt")}`;
    await t.release("r3", `version: "3.0.0"\nhooks:\n  pre_update:\n    - "${hook}"\n`, files("3.0.0"));
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect(appScanOf(update.stderr)).toBe("at apply");
    expect(await readFile(join(t.appDir, "keep.txt"), "utf8")).toBe("same in every release\n");
  });

  it("a release that protects another directory is scanned at the apply, without entering it", async () => {
    await mkdir(join(t.appDir, "data"), { recursive: true });
    await writeFile(join(t.appDir, "data", "user.db"), "user data\n");
    const protect = "directories:\n  data:\n    preserve: true\n";
    await t.release("r4", `version: "4.0.0"\n${protect}`, { ...files("4.0.0"), "data/user.db": "shipped\n" });
    const update = await ship();
    expect(update.code, update.stderr).toBe(0);
    expect(appScanOf(update.stderr)).toBe("at apply");
    expect(await readFile(join(t.appDir, "data", "user.db"), "utf8")).toBe("user data\n");
    await t.release("r5", `version: "5.0.0"\n${protect}`, {
      ...files("5.0.0"),
      "data/user.db": "shipped again\n",
    });
    const next = await ship();
    expect(next.code, next.stderr).toBe(0);
    expect(appScanOf(next.stderr)).toBe("early");
    expect(await readFile(join(t.appDir, "data", "user.db"), "utf8")).toBe("user data\n");
    expect(await readFile(join(t.appDir, "app.txt"), "utf8")).toBe("5.0.0\n");
  });
});
