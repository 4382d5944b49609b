/**
 * `--version --json` beside the options an operator's script already passes, and a typo next to
 * `--version`. `ship --config /etc/ship.toml --version --json` printed the bare "0.1.0" (not JSON:
 * the script's JSON.parse got a number), and `ship-hub --version --jsn` said "unknown option
 * '--version'", naming the one option ship-hub knows, not the typo. Real child processes of the CLIs.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HUB_BIN } from "../../support/hub-cli.js";
import { runNodeScript, SHIP_BIN } from "../../support/ship-cli.js";

const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };

describe("--version --json with other options", () => {
  it.each([
    [["--config", "/etc/ship.toml", "--version", "--json"]],
    [["--version", "--json", "--config", "/etc/ship.toml"]],
  ])("ship %j prints the version as JSON, exit 0", async (args) => {
    const r = await runNodeScript(SHIP_BIN, args);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ version });
  });

  it("ship-hub --version with a mistyped option names the mistyped one, exit 2", async () => {
    const r = await runNodeScript(HUB_BIN, ["--version", "--jsn"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--jsn");
    expect(r.stderr).not.toContain("unknown option '--version'");
  });

  // The same typo on either side of --version, and in ship: ship printed the bare version, exit 0,
  // so the script's JSON.parse failed on a run that "succeeded".
  it.each([
    ["ship", ["--version", "--jsn"], "--jsn", SHIP_BIN],
    ["ship", ["--jsn", "--version"], "--jsn", SHIP_BIN],
    ["ship-hub", ["--jsn", "--version"], "--jsn", HUB_BIN],
    ["ship-hub", ["--version", "--json", "--verbose"], "--verbose", HUB_BIN],
    ["ship-hub", ["--version", "serve"], "serve", HUB_BIN],
  ])("%s %j names %s, exit 2, prints no version", async (_name, args, typo, bin) => {
    const r = await runNodeScript(bin, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`'${typo}'`);
    expect(r.stderr).not.toContain("unknown option '--version'");
    expect(r.stdout).not.toContain(version);
  });

  it("ship-hub --version --json with a typo says it as JSON on stderr", async () => {
    const r = await runNodeScript(HUB_BIN, ["--version", "--json", "--jsn"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ exitCode: 2, error: expect.stringContaining("'--jsn'") });
  });
});
