/**
 * `GET /releases?limit=1000` answered every release with its whole manifest: with manifests near
 * their 64 KiB limit that was ~60 MB in one answer, and a few clients that did not read theirs held
 * the hub's memory. A page now ends at 4 MiB of manifests too, saying `more` and giving `next`,
 * which `?after=` takes to list the rest: every release once, in order. Real hub, real HTTP.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RELEASE_PAGE_BYTES } from "../../../hub/api/releases.js";
import { startTestHub, type TestHub } from "./support.js";

let t: TestHub | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** A manifest of about `bytes` (a long description), valid for the hub. */
const bigManifest = (version: string, bytes: number) =>
  `version: "${version}"\ndescription: |\n${`  ${"x".repeat(99)}\n`.repeat(Math.floor(bytes / 102))}`;

type Page = { releases: { id: string; manifest: string }[]; more?: boolean; next?: string };

describe("GET /releases pages", () => {
  it("ends a page at its byte bound with more and next, and ?after= lists every release once, in order", async () => {
    t = await startTestHub();
    const hub = t;
    // 120 releases of ~60 KB: ~7 MB of manifests. Four share one `created`, so the order needs the id.
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) {
      const id = `rel-${String(i).padStart(3, "0")}`;
      await hub.hub.store.insertRelease({
        id,
        app: "web",
        version: `1.0.${i}`,
        manifest: bigManifest(`1.0.${i}`, 60_000),
        source: { type: "git", commit: "abcdef1" },
        signature: null,
        created: 1_000 + (i < 4 ? 0 : i),
        createdBy: "ci",
      });
      ids.push(id);
    }
    // Newest first; equal times by id.
    const expected = [...ids.slice(4).reverse(), ...ids.slice(0, 4)];
    const get = async (query: string) => {
      const res = await fetch(`${hub.hub.url}/api/v1/releases?${query}`, {
        headers: { authorization: `Bearer ${hub.operator}` },
      });
      const text = await res.text();
      return { status: res.status, bytes: text.length, body: JSON.parse(text) as Page };
    };
    const first = await get("limit=1000");
    expect(first.status).toBe(200);
    expect(first.bytes).toBeLessThan(RELEASE_PAGE_BYTES + 100_000);
    expect(first.body.releases.length).toBeLessThan(120);
    expect(first.body.more).toBe(true);
    const seen = first.body.releases.map((r) => r.id);
    let next = first.body.next;
    while (next !== undefined) {
      const page = await get(`limit=1000&after=${encodeURIComponent(next)}`);
      expect(page.status).toBe(200);
      expect(page.bytes).toBeLessThan(RELEASE_PAGE_BYTES + 100_000);
      seen.push(...page.body.releases.map((r) => r.id));
      next = page.body.next;
      expect(page.body.more === true).toBe(next !== undefined);
    }
    expect(seen).toEqual(expected);
    // A limit cuts as before, and says more exist; the last page says nothing more.
    const small = await get("limit=3&app=web");
    expect(small.body.releases.map((r) => r.id)).toEqual(expected.slice(0, 3));
    expect(small.body).toMatchObject({ more: true, next: `1117.${expected[2]}` });
    const tail = await get(`limit=10&after=${encodeURIComponent(`1000.${ids[1]}`)}`);
    expect(tail.body).toEqual({ releases: expect.any(Array) });
    expect(tail.body.releases.map((r) => r.id)).toEqual(ids.slice(2, 4));
    // Without manifests (the dashboard's listing): one line of each, so all 120 fit one page.
    const light = await get("limit=1000&manifest=false");
    expect(light.bytes).toBeLessThan(120 * 1_000);
    expect(light.body.releases.map((r) => r.id)).toEqual(expected);
    expect(light.body.more).toBeUndefined();
    const [newest] = light.body.releases as unknown as Record<string, unknown>[];
    expect(newest).not.toHaveProperty("manifest");
    expect(newest?.description).toBe(`${`${"x".repeat(99)} `.repeat(3)}…`);
    // One release by id still answers its manifest whole.
    const one = await fetch(`${hub.hub.url}/api/v1/releases/rel-119`, {
      headers: { authorization: `Bearer ${hub.operator}` },
    });
    const full = (await one.json()) as { manifest: string; description: string };
    expect(full.manifest).toBe(bigManifest("1.0.119", 60_000));
    expect(full.description).toBe(newest?.description);
    // By version too: the one release, without its manifest when asked so.
    const byVersion = await get("app=web&version=v1.0.119&manifest=false");
    expect(byVersion.body.releases.map((r) => r.id)).toEqual(["rel-119"]);
    expect(byVersion.body.releases[0]).not.toHaveProperty("manifest");
    const badFlag = await get("manifest=no");
    expect(badFlag.status).toBe(400);
    expect((badFlag.body as unknown as { error: string }).error).toMatch(/^query\.manifest: /);
    const bad = await get("after=yesterday");
    expect(bad.status).toBe(400);
    expect((bad.body as unknown as { error: string }).error).toMatch(/^query\.after: must be the `next`/);
  });
});
