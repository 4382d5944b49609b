/**
 * `--json` promises machine-readable output, and `--version` is what an install script checks:
 * `ship-hub --version --json` was "unknown option '--version'", exit 2, and `ship --version --json`
 * printed the bare version, which is not JSON.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HUB_BIN } from "../../support/hub-cli.js";
import { runNodeScript, SHIP_BIN } from "../../support/ship-cli.js";

const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };

describe.each([
  ["ship", SHIP_BIN],
  ["ship-hub", HUB_BIN],
])("%s --version", (_name, bin) => {
  it.each([[["--version", "--json"]], [["--json", "--version"]]])(
    "%j prints the version as JSON, exit 0",
    async (args) => {
      const r = await runNodeScript(bin, args);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(JSON.parse(r.stdout)).toEqual({ version });
    },
  );

  it("without --json prints the bare version", async () => {
    expect(await runNodeScript(bin, ["--version"])).toMatchObject({
      code: 0,
      stdout: `${version}\n`,
      stderr: "",
    });
  });
});
