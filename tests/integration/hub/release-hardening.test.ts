/**
 * POST /releases refuses what would make one app version mean two things, leak a password to the
 * fleet, or crash the validator: equal-comparing versions (409), credentials in a URL (400 naming
 * the field) and conditions nested past the bound (400, not 500).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "./support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

const commit = "0123456789abcdef0123456789abcdef01234567";
const sha256 = "a".repeat(64);
const publish = (app: string, version: string, extra: Record<string, unknown> = {}) =>
  t.api("POST", "/api/v1/releases", {
    token: t.ci,
    body: {
      app,
      version,
      manifest: `version: "${version}"\n`,
      source: { type: "git", commit },
      ...extra,
    },
  });

describe("POST /releases", () => {
  it("one app version, one release: v2.0.0, 2.0.0+build7 and 2.0 after 2.0.0 are 409", async () => {
    expect((await publish("aliases", "2.0.0")).status).toBe(201);
    for (const alias of ["v2.0.0", "2.0.0+build7", "2.0", "2.0.0"]) {
      const res = await publish("aliases", alias);
      expect({ alias, status: res.status }).toEqual({ alias, status: 409 });
      expect(res.body.error).toMatch(/2\.0\.0 (exists|is the same version)/);
    }
    // A different version, and the same version of another app, are still welcome.
    expect((await publish("aliases", "2.0.1")).status).toBe(201);
    expect((await publish("other-app", "v2.0.0")).status).toBe(201);
  });

  it("refuses credentials in a release URL with 400 naming the field, and stores nothing", async () => {
    for (const url of ["https://ci:s3cret@example.test/app.tgz", "https://token@example.test/app.tgz"]) {
      const res = await publish("creds", "1.0.0", { source: { type: "https", url, sha256 } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/^body\.source\.url: must not contain credentials/);
      expect(res.body.error).not.toContain("s3cret");
    }
    const ftp = await publish("creds", "1.0.0", {
      source: { type: "http", url: "ftp://example.test/a", sha256 },
    });
    expect(ftp.status).toBe(400);
    expect(ftp.body.error).toMatch(/^body\.source\.url: must be an http/);
    const listed = await t.api<{ releases: unknown[] }>("GET", "/api/v1/releases?app=creds", { token: t.ci });
    expect(listed.body.releases).toEqual([]);
  });

  it("a condition nested 5,000 deep is a 400 naming the condition, not a 500", async () => {
    const condition = `${"(".repeat(5000)}file_exists('a')${")".repeat(5000)}`;
    const manifest = `version: "1.0.0"\nconditionals:\n  - condition: "${condition}"\n    action: skip_update\n`;
    const res = await publish("deep", "1.0.0", { manifest });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/conditionals\[0\]\.condition.*nested deeper than 100 levels/);
  });
});
