/**
 * The whole signature path as an operator runs it: `ship release http|keygen|sign` in CI, the
 * archive and its .sig served over real HTTP, an agent with [trust] keys installing it — and
 * refusing, with nothing changed, when the signature is missing, foreign or for another release.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileRoute } from "../../support/servers/file-routes.js";
import { fileServerForFile } from "../../support/servers/file-server.js";
import { runShip } from "../../support/ship-cli.js";

describe("signed http releases under [trust]", () => {
  let root: string;
  const routes = new Map<string, FileRoute>();
  const server = fileServerForFile(routes);

  // One `ship release http` and `sign` per release, not per test: most tests serve the same 1.0.0.
  const built = new Map<string, Promise<{ archive: string; sig: string }>>();
  function build(version: string, body: string): Promise<{ archive: string; sig: string }> {
    const key = `${version}\n${body}`;
    const cached = built.get(key) ?? buildRelease(version, body);
    built.set(key, cached);
    return cached;
  }

  async function buildRelease(version: string, body: string): Promise<{ archive: string; sig: string }> {
    const src = join(root, `src-${version}`);
    await mkdir(src, { recursive: true });
    await writeFile(join(src, "update-manifest.yaml"), `version: "${version}"\n`);
    await writeFile(join(src, "app.txt"), body);
    const out = join(root, "dist");
    const made = await runShip([
      "release",
      "-C",
      src,
      "http",
      version,
      `v${version}`,
      "--app",
      "myapp",
      "--out",
      out,
    ]);
    expect(made.code, made.stderr).toBe(0);
    const archive = join(out, `myapp-${version}.tar.gz`);
    const signed = await runShip(["release", "sign", archive, "--key", join(root, "keys/ship-release.key")]);
    expect(signed.code, signed.stderr).toBe(0);
    return { archive: await readFile(archive, "latin1"), sig: await readFile(`${archive}.sig`, "utf8") };
  }

  function publish(files: { archive: string; sig?: string }, etag: string): void {
    routes.set("/myapp.tar.gz", { body: Buffer.from(files.archive, "latin1"), etag: `"${etag}"` });
    if (files.sig === undefined) routes.delete("/myapp.tar.gz.sig");
    else routes.set("/myapp.tar.gz.sig", { body: files.sig });
  }

  async function config(trustedKeyFile: string, name: string, query = "", sourceKeys = ""): Promise<string> {
    const file = join(root, name);
    await writeFile(
      file,
      `[general]
state_file = "${root}/var/state.json"
backup_dir = "${root}/var/backups"
min_interval_hours = 0

[sources.myapp]
type = "http"
url = "${server.url}/myapp.tar.gz${query}"
app_dir = "${root}/${name}-app"
${sourceKeys}
[trust]
key_files = ["${trustedKeyFile}"]
`,
    );
    return file;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-signed-"));
    expect((await runShip(["release", "keygen", "--out", join(root, "keys")])).code).toBe(0);
    expect((await runShip(["release", "keygen", "--out", join(root, "other-keys")])).code).toBe(0);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("installs a release signed by a trusted key, refuses unsigned, foreign and swapped ones", async () => {
    const cfg = await config(join(root, "keys/ship-release.pub"), "ship.toml");
    const v1 = await build("1.0.0", "one\n");
    publish(v1, "v1");
    const ok = await runShip(["--config", cfg]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await readFile(join(root, "ship.toml-app/app.txt"), "utf8")).toBe("one\n");

    const v2 = await build("2.0.0", "two\n");
    publish({ archive: v2.archive }, "v2-unsigned");
    const unsigned = await runShip(["--config", cfg]);
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toMatch(/unsigned|no signature|signature/i);
    expect(await readFile(join(root, "ship.toml-app/app.txt"), "utf8")).toBe("one\n");

    // v1's signature beside v2's archive: the signed digests do not match what was downloaded.
    publish({ archive: v2.archive, sig: v1.sig }, "v2-swapped");
    const swapped = await runShip(["--config", cfg]);
    expect(swapped.code).toBe(2);
    expect(await readFile(join(root, "ship.toml-app/app.txt"), "utf8")).toBe("one\n");

    // Signed, but by a key this agent does not trust.
    const foreign = await config(join(root, "other-keys/ship-release.pub"), "foreign.toml");
    publish(v2, "v2-signed");
    const untrusted = await runShip(["--config", foreign]);
    expect(untrusted.code).toBe(2);
    expect(await readFile(join(root, "ship.toml-app/app.txt"), "utf8")).toBe("one\n");

    const good = await runShip(["--config", cfg]);
    expect(good.code, good.stderr).toBe(0);
    expect(await readFile(join(root, "ship.toml-app/app.txt"), "utf8")).toBe("two\n");
  });

  it.each([401, 403, 500, 503])(
    "a .sig answered with HTTP %i is an error naming its URL and status, never 'unsigned'",
    async (status) => {
      // A 5xx is retried with backoff (1, 2, 4 s at the default retries = 3): one retry proves the
      // error still names the .sig after retrying, without waiting out the other 6 s.
      const cfg = await config(
        join(root, "keys/ship-release.pub"),
        `sig-${status}.toml`,
        "",
        status < 500 ? "" : "retries = 1\n",
      );
      const signed = await build("1.0.0", "one\n");
      publish(signed, `s${status}`);
      routes.set("/myapp.tar.gz.sig", { body: signed.sig, failTimes: 1000, failStatus: status });
      const before = server.requests.length;
      const run = await runShip(["--config", cfg]);
      const sigRequests = server.requests.slice(before).filter((r) => r.path === "/myapp.tar.gz.sig");
      expect(sigRequests).toHaveLength(status < 500 ? 1 : 2);
      expect(run.code, run.stderr).toBe(status < 500 ? 2 : 1);
      expect(run.stderr).toContain(`${server.url}/myapp.tar.gz.sig`);
      expect(run.stderr).toContain(`HTTP ${status}`);
      expect(run.stderr).not.toMatch(/unsigned|no signature/i);
      await expect(readFile(join(root, `sig-${status}.toml-app/app.txt`), "utf8")).rejects.toThrow();
    },
  );

  it("an empty .sig (HTTP 200, no body) is an error naming it, never 'unsigned'", async () => {
    const cfg = await config(join(root, "keys/ship-release.pub"), "empty-sig.toml");
    const signed = await build("1.0.0", "one\n");
    publish({ archive: signed.archive, sig: "" }, "empty-sig");
    const run = await runShip(["--config", cfg]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${server.url}/myapp.tar.gz.sig: is empty`);
    expect(run.stderr).not.toMatch(/unsigned|no signature/i);
    await expect(readFile(join(root, "empty-sig.toml-app/app.txt"), "utf8")).rejects.toThrow();
  });

  it("a .sig that is no signature (a login page served 200) is an error naming its URL", async () => {
    const cfg = await config(join(root, "keys/ship-release.pub"), "html-sig.toml");
    const signed = await build("1.0.0", "one\n");
    publish({ archive: signed.archive, sig: "<html><body>Please log in</body></html>" }, "html-sig");
    const run = await runShip(["--config", cfg]);
    expect(run.code, run.stderr).toBe(2);
    // Was "signature: malformed: the signature document is not JSON", naming no file.
    expect(run.stderr).toContain(
      `malformed: ${server.url}/myapp.tar.gz.sig: the signature document is not JSON`,
    );
    await expect(readFile(join(root, "html-sig.toml-app/app.txt"), "utf8")).rejects.toThrow();
  });

  it("only a 404 means unsigned; without [trust] keys the .sig is never requested", async () => {
    const signed = await build("1.0.0", "one\n");
    publish({ archive: signed.archive }, "absent");
    const cfg = await config(join(root, "keys/ship-release.pub"), "absent.toml");
    const unsigned = await runShip(["--config", cfg]);
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toMatch(/unsigned|no signature/i);

    const plain = join(root, "plain.toml");
    await writeFile(
      plain,
      (await readFile(cfg, "utf8"))
        .replace(/\[trust\][\s\S]*$/, "")
        .replaceAll("absent.toml-app", "plain-app"),
    );
    const before = server.requests.length;
    const run = await runShip(["--config", plain]);
    expect(run.code, run.stderr).toBe(0);
    expect(server.requests.slice(before).map((r) => r.path)).not.toContain("/myapp.tar.gz.sig");
  });

  it("with a query token in the URL, the .sig is fetched from the path beside the archive, query kept", async () => {
    const cfg = await config(join(root, "keys/ship-release.pub"), "query.toml", "?token=T1");
    publish(await build("1.0.0", "one\n"), "q1");
    const run = await runShip(["--config", cfg]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(root, "query.toml-app/app.txt"), "utf8")).toBe("one\n");
    expect(server.requests.map((r) => r.path)).toContain("/myapp.tar.gz.sig?token=T1");
  });

  it("[trust] takes public keys only: a private key or a certificate is refused, every key of a bundle counts", async () => {
    const signed = await build("1.0.0", "one\n");
    publish(signed, "k1");
    const keys = join(root, "keys");
    // The CI's private key copied to a server by mistake: exit 2 naming it, nothing installed.
    const privateKey = await config(join(keys, "ship-release.key"), "private.toml");
    const refused = await runShip(["--config", privateKey]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("ship-release.key");
    expect(refused.stderr).toMatch(/private key/);
    await expect(readFile(join(root, "private.toml-app/app.txt"), "utf8")).rejects.toThrow();

    // Key rotation: the new key and the old one in one file; a release signed by the second installs.
    const bundle = join(root, "bundle.pub");
    const other = await readFile(join(root, "other-keys/ship-release.pub"), "utf8");
    await writeFile(bundle, other + (await readFile(join(keys, "ship-release.pub"), "utf8")));
    const rotated = await runShip(["--config", await config(bundle, "bundle.toml")]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(await readFile(join(root, "bundle.toml-app/app.txt"), "utf8")).toBe("one\n");

    // Text that is not a key beside a key: refused rather than half-read.
    const junk = join(root, "junk.pub");
    await writeFile(junk, `${other}not a key\n`);
    const junked = await runShip(["--config", await config(junk, "junk.toml")]);
    expect(junked.code).toBe(2);
    expect(junked.stderr).toContain("junk.pub");

    const cert = join(root, "cert.pem");
    await writeFile(cert, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const certified = await runShip(["--config", await config(cert, "cert.toml")]);
    expect(certified.code).toBe(2);
    expect(certified.stderr).toMatch(/CERTIFICATE/);
  });
});
