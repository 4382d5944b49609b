/**
 * The remote commands took SHIP_HUB_TOKEN over a `--token-file` typed on the command line: with a
 * variable left in the shell (an older token, another hub's), the file was ignored, even when it
 * did not exist, and the hub saw another operator (its audit log names who acted). The flags come
 * first now, and `--token` with `--token-file` is refused. Real hub (in process), the real CLI.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { hubPerTest } from "./support.js";

const session = hubPerTest();
/** JWT-shaped, and no token of this hub's. */
const STALE = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoib3BlcmF0b3IifQ.c2lnbmF0dXJl";

describe("the operator token of ship-hub's remote commands", () => {
  it("is --token-file's when given, whatever SHIP_HUB_TOKEN holds", async () => {
    requireHubBin();
    const t = await session.start();
    await session.connect(t, "a1");
    await writeFile(join(t.dir, "op.token"), `${t.operator}\n`);
    const agents = (args: string[], env: Record<string, string>) =>
      runHubCli(t.dir, ["agents", "--hub", t.hub.url, ...args], env);

    const fileWins = await agents(["--token-file", "op.token"], { SHIP_HUB_TOKEN: STALE });
    expect(fileWins).toMatchObject({ code: 0, stderr: "" });
    expect(fileWins.stdout).toMatch(/^a1 /m);

    const missing = await agents(["--token-file", "nope.token"], { SHIP_HUB_TOKEN: t.operator });
    expect(missing).toMatchObject({
      code: 2,
      stdout: "",
      stderr: "ship-hub: --token-file cannot read nope.token: no such file or directory (ENOENT)\n",
    });

    const both = await agents(["--token", t.operator, "--token-file", "op.token"], {});
    expect(both).toMatchObject({ code: 2, stderr: "ship-hub: --token and --token-file: give one of them\n" });

    // Without either flag, the variable is the token, as before.
    expect((await agents([], { SHIP_HUB_TOKEN: t.operator })).code).toBe(0);
  });
});
