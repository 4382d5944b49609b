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
});
