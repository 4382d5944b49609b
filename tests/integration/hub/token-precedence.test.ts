/**
 * The remote commands took SHIP_HUB_TOKEN over a `--token-file` typed on the command line: with a
 * variable left in the shell (an older token, another hub's), the file was ignored, even when it
 * did not exist, and the hub saw another operator (its audit log names who acted). The flags come
 * first now, and say so when the variable is set too; `--token` with `--token-file` is refused;
 * `--token` is warned about (it is in ps). Real hub (in process), the real CLI.
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
    expect(fileWins).toMatchObject({
      code: 0,
      stderr: "warning: --token-file is used; SHIP_HUB_TOKEN, also set, is ignored\n",
    });
    expect(fileWins.stdout).toMatch(/^a1 /m);

    const missing = await agents(["--token-file", "nope.token"], { SHIP_HUB_TOKEN: t.operator });
    expect(missing).toMatchObject({
      code: 2,
      stdout: "",
      stderr: "ship-hub: --token-file cannot read nope.token: no such file or directory (ENOENT)\n",
    });

    const both = await agents(["--token", t.operator, "--token-file", "op.token"], {});
    expect(both).toMatchObject({ code: 2, stderr: "ship-hub: --token and --token-file: give one of them\n" });

    // --token wins over the variable too, and says once, on stderr, that ps shows it. Bad input is
    // refused in its one line, with no warning before it: the token was never used.
    const flagWins = await agents(["--token", t.operator], { SHIP_HUB_TOKEN: STALE });
    expect(flagWins).toMatchObject({
      code: 0,
      stderr:
        "warning: --token puts the operator token in the process list (ps), where every local user can read it; set SHIP_HUB_TOKEN or use --token-file (chmod 600) instead\n" +
        "warning: --token is used; SHIP_HUB_TOKEN, also set, is ignored\n",
    });
    expect(flagWins.stdout).toMatch(/^a1 /m);
    expect(await agents(["--token", "not-a-jwt"], {})).toMatchObject({
      code: 2,
      stdout: "",
      stderr: "ship-hub: --token does not hold a token (one JWT, as `ship-hub token create` prints it)\n",
    });
    // rollout create reads its --wave after it has a client: still the one line.
    const badWave = await runHubCli(t.dir, [
      "rollout",
      "create",
      ...["--app", "web", "--version", "1.0.0", "--wave", "canary"],
      ...["--hub", t.hub.url, "--token", t.operator],
    ]);
    expect(badWave).toMatchObject({ code: 2, stdout: "" });
    expect(badWave.stderr).toMatch(/^ship-hub: --wave "canary": use NAME=PERCENT[^\n]*\n$/);

    // Without either flag, the variable is the token, as before.
    expect((await agents([], { SHIP_HUB_TOKEN: t.operator })).code).toBe(0);
  });
});
