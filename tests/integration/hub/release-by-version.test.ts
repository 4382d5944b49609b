/**
 * A release found by its app and version however many releases the app has: `ship-hub rollout
 * create --app web --version 1.0.0` (taking a fleet back to an old release) read the newest 1,000
 * releases and said "no release web 1.0.0 on the hub" for an app CI publishes on every merge.
 * Real hub (in process), the real CLI; the old releases are written to the store directly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireHubBin, runHubCli } from "../../support/hub-cli.js";
import { insertOldReleases, startTestHub, type TestHub } from "./support.js";

describe("a release by app and version, past the newest 1,000", () => {
  let t: TestHub;
  beforeAll(async () => {
    requireHubBin();
    t = await startTestHub();
    await insertOldReleases(t, 1_100, 1_000);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  it("GET /releases?app=&version= finds it, as the hub compares versions", async () => {
    for (const version of ["1.0.0", "v1.0.0"]) {
      const res = await t.api<{ releases: { id: string }[] }>(
        "GET",
        `/api/v1/releases?app=web&version=${version}`,
        { token: t.operator },
      );
      expect(res.status).toBe(200);
      expect(res.body.releases.map((r) => r.id)).toEqual(["rel-0"]);
    }
    const none = await t.api<{ releases: unknown[] }>("GET", "/api/v1/releases?app=web&version=9.9.9", {
      token: t.operator,
    });
    expect(none.body.releases).toEqual([]);
    const noApp = await t.api<{ error: string }>("GET", "/api/v1/releases?version=1.0.0", {
      token: t.operator,
    });
    expect(noApp).toMatchObject({ status: 400, body: { error: "query.version: needs query.app" } });
  });

  it("ship-hub rollout create --app --version finds the oldest release (preview)", async () => {
    const preview = await runHubCli(
      process.cwd(),
      ["rollout", "create", "--app", "web", "--version", "1.0.0", "--wave", "all=100", "--preview"],
      { SHIP_HUB_URL: t.hub.url, SHIP_HUB_TOKEN: t.operator },
    );
    // The release past the newest 1,000 is found (the seed is its id); with no agent registered
    // the preview also says a create would be refused, and exits 2 as the create would.
    expect(preview.stdout).toContain("preview (seed rel-0)");
    expect(preview.stderr).toContain(
      "creating it would be refused: --app web --version 1.0.0: no registered agent has app web",
    );
    expect(preview.code).toBe(2);
  });
});
