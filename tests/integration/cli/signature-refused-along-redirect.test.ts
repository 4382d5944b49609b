/**
 * A `latest.tar.gz` that redirects into a store (S3, GCS, a CDN) on another origin whose links are
 * signed for one object: the store answers 403 for every other name, a `.sig` beside it included
 * (S3 says AccessDenied for a missing key). Under [trust] an unsigned release reached that way was
 * refused naming the store's 403, sending the operator after credentials; none of the places a
 * signature may be holds one, so the release is unsigned, and the refused hop is said too. A 403
 * for the .sig beside the url configured is still a refusal (signed-http.test.ts). Real servers,
 * real `ship` runs.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpApp } from "../../support/http-app.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";
import { signedArchive } from "./signed-archive.js";

let front: TestServer;
let store: TestServer;
let root: string;
let trust: string;
/** What the store serves beside the archive's signed link; undefined: 403, as for any other name. */
let storedSig: Buffer | undefined;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-sig-hop-"));
  const signed = await signedArchive(root);
  trust = signed.trust;
  const body = await readFile(signed.archive);
  const sig = await readFile(`${signed.archive}.sig`);
  store = await startHttpServer((req, res) => {
    if (req.url === "/b/myapp-1.0.0.tar.gz?sig=abc") res.end(body);
    else if (req.url === "/b/myapp-1.0.0.tar.gz.sig?sig=abc" && storedSig !== undefined) res.end(storedSig);
    else res.writeHead(403).end("<Error><Code>AccessDenied</Code></Error>");
  });
  front = await startHttpServer((req, res) => {
    if (req.url === "/latest.tar.gz")
      res.writeHead(302, { location: `${store.url}/b/myapp-1.0.0.tar.gz?sig=abc` }).end();
    else res.writeHead(404).end();
  });
  storedSig = sig;
});
afterAll(async () => {
  await front.close();
  await store.close();
  await rm(root, { recursive: true, force: true });
});

/** One `ship` run of a trusting app (in `root`/`name`) whose url is the front's latest.tar.gz. */
async function runLatest(name: string): Promise<{ code: number | null; said: string; app: string }> {
  const { config, app } = await httpApp(
    join(root, name),
    `${front.url}/latest.tar.gz`,
    `retries = 0\n${trust}`,
  );
  const run = await runShip(["--config", config]);
  return { code: run.code, said: run.stdout + run.stderr, app };
}

describe("a .sig looked for along a redirect into a store that answers 403 for what it lacks", () => {
  it("none anywhere: refused as unsigned (exit 2), the store's 403 named as where it was not found, nothing installed", async () => {
    storedSig = undefined;
    const { code, said, app } = await runLatest("none");
    expect(code, said).toBe(2);
    expect(said).toContain("unsigned");
    expect(said).toContain(`${store.url}/b/myapp-1.0.0.tar.gz.sig`);
    expect(said).toMatch(/HTTP 403/);
    expect(await readdir(app)).toEqual([]);
  });

  it("the .sig the store holds beside the archive's link is read, the release installed", async () => {
    storedSig = await readFile(join(root, "myapp-1.0.0.tar.gz.sig"));
    const { code, said, app } = await runLatest("found");
    expect(code, said).toBe(0);
    expect(await readdir(app)).not.toEqual([]);
  });
});
