/**
 * The hub keeps the masked text of each release's manifest by release id (masking parses the
 * YAML). That cache is the module's, so every hub in one process shares it: a second hub whose
 * store held another manifest under the same id answered the first hub's text (CI saw the
 * dashboard show a 60,000-character manifest of another test's store for `big-5`). An entry now
 * serves only the text it was made from. Two real hubs in one process, real HTTP.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "./support.js";

const hubs: TestHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((t) => t.stop()));
});

async function hubWithRelease(manifest: string): Promise<TestHub> {
  const t = await startTestHub();
  hubs.push(t);
  await t.hub.store.insertRelease({
    id: "same-id",
    app: "web",
    version: "1.0.0",
    manifest,
    source: { type: "git", commit: "abcdef1" },
    signature: null,
    created: 1_000,
    createdBy: "ci",
  });
  return t;
}

describe("the masked-manifest cache shared by the hubs of one process", () => {
  it("answers each hub's own manifest for the same release id", async () => {
    const first = await hubWithRelease(
      'version: "1.0.0"\ndescription: first\nnotifications:\n  on_success:\n    - type: webhook\n      url: https://hooks.example/secret-path\n',
    );
    const firstRead = await first.api<{ manifest: string }>("GET", "/api/v1/releases/same-id", {
      token: first.operator,
    });
    expect(firstRead.body.manifest).toContain("description: first");
    expect(firstRead.body.manifest).not.toContain("secret-path");

    const second = await hubWithRelease('version: "1.0.0"\ndescription: second\n');
    const secondRead = await second.api<{ manifest: string }>("GET", "/api/v1/releases/same-id", {
      token: second.operator,
    });
    expect(secondRead.body.manifest).toBe('version: "1.0.0"\ndescription: second\n');
    const listed = await second.api<{ releases: { description: string }[] }>(
      "GET",
      "/api/v1/releases?manifest=false",
      {
        token: second.operator,
      },
    );
    expect(listed.body.releases.map((r) => r.description)).toEqual(["second"]);
    // And the first hub still reads its own, masked.
    const again = await first.api<{ manifest: string }>("GET", "/api/v1/releases/same-id", {
      token: first.operator,
    });
    expect(again.body.manifest).toBe(firstRead.body.manifest);
  });
});
