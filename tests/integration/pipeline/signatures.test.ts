import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";
import { generateKeyPair, signRelease } from "../../../shared/signing/index.js";
import { hasProgram } from "../../support/require-program.js";
import { makeRepos } from "../sources/git-repos.js";
import { createSandbox, hashTree, type Sandbox } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

/** A release archive as CI makes it, optionally with ARTIFACT.sig from `ship release sign`. */
async function archive(name: string, signWith?: string, app = "myapp", version = "2.0.0"): Promise<string> {
  const dir = await box.release(name, { "app.py": `print('${name}')\n` }, { version });
  const out = join(box.root, `${name}.tar.gz`);
  const tar = spawnSync("tar", ["-C", dir, "-czf", out, "."]);
  expect(tar.status).toBe(0);
  if (signWith !== undefined) {
    const sha = async (file: string) =>
      createHash("sha256")
        .update(await readFile(file))
        .digest("hex");
    const signature = signRelease(
      {
        app,
        version,
        artifactSha256: await sha(out),
        manifestSha256: await sha(join(dir, "update-manifest.yaml")),
      },
      signWith,
    );
    await writeFile(`${out}.sig`, JSON.stringify(signature));
  }
  return out;
}

async function run(artifact: string, trustedKey: string) {
  const config = AgentConfig.parse({
    ...box.config(artifact),
    trust: { keys: [trustedKey] },
  });
  return runOnce(config, { force: true, checkOnly: false, log: memoryLogger(), delayScale: 0 });
}

describe("[trust] keys", () => {
  const ci = generateKeyPair();
  const stranger = generateKeyPair();

  it("install a release signed by a trusted key", async () => {
    const summary = await run(await archive("signed", ci.privateKeyPem), ci.publicKeyPem);
    expect(summary.exitCode).toBe(0);
    expect(await readFile(join(box.appDir, "app.py"), "utf8")).toBe("print('signed')\n");
  });

  it("refuse an unsigned release and one signed by an unknown key, with exit 2 and no write", async () => {
    const unsigned = await run(await archive("unsigned"), ci.publicKeyPem);
    expect(unsigned.exitCode).toBe(2);
    expect(unsigned.apps[0]?.message).toContain("no signature");
    const foreign = await run(await archive("foreign", stranger.privateKeyPem), ci.publicKeyPem);
    expect(foreign.exitCode).toBe(2);
    expect(foreign.apps[0]?.message).toContain("not in [trust]");
    expect(await hashTree(box.appDir)).toEqual({});
  });

  // CI signs with `--app`; a standalone run checks the source's name in ship.toml against it, and
  // nothing else links the two: the refusal must say so, not read as tampering.
  it("refuse a release signed for another app, saying the source's name is what is checked", async () => {
    const other = await run(await archive("other", ci.privateKeyPem, "billing"), ci.publicKeyPem);
    expect(other.exitCode).toBe(2);
    expect(other.apps[0]?.message).toContain(
      "signed for app billing, and a standalone run checks it against the source's name, myapp: name the source [sources.billing] in ship.toml, or build and sign with --app myapp",
    );
    expect(await hashTree(box.appDir)).toEqual({});
  });

  // Only "no such file" means unsigned: a .sig that is there but cannot be read says so.
  it("a local archive's .sig that is a dangling symlink, a directory or empty is an error naming it, not 'unsigned'", async () => {
    const dangling = await archive("dangling");
    await symlink(join(box.root, "gone.sig"), `${dangling}.sig`);
    const linked = await run(dangling, ci.publicKeyPem);
    expect(linked.exitCode).toBe(2);
    expect(linked.apps[0]?.message).toContain(
      `cannot read ${dangling}.sig: it is a symlink to a missing file`,
    );
    expect(linked.apps[0]?.message).not.toContain("no signature");

    const dir = await archive("dir");
    await mkdir(`${dir}.sig`);
    const directory = await run(dir, ci.publicKeyPem);
    expect(directory.exitCode).toBe(2);
    expect(directory.apps[0]?.message).toContain(`cannot read ${dir}.sig`);
    expect(directory.apps[0]?.message).not.toContain("no signature");
    const empty = await archive("empty");
    await writeFile(`${empty}.sig`, "");
    const truncated = await run(empty, ci.publicKeyPem);
    expect(truncated.exitCode).toBe(2);
    expect(truncated.apps[0]?.message).toContain(`${empty}.sig is empty`);
    // One that holds no signature names the file too (was "malformed: the signature document is not JSON").
    const page = await archive("page");
    await writeFile(`${page}.sig`, "<html>login</html>");
    const html = await run(page, ci.publicKeyPem);
    expect(html.exitCode).toBe(2);
    expect(html.apps[0]?.message).toContain(`malformed: ${page}.sig: the signature document is not JSON`);
    expect(await hashTree(box.appDir)).toEqual({});
  });

  // A signature proves the manifest's bytes; until they match it, nothing in them is read. The
  // version was read from the unverified manifest first: a release carrying another's signature
  // was refused as "version mismatch: …, this release has 6.6.6", quoting what nobody signed.
  it("a release carrying another release's signature is refused on its digests, its manifest unread", async () => {
    const signed = await archive("genuine", ci.privateKeyPem);
    const forged = await archive("forged", undefined, "myapp", "6.6.6");
    await writeFile(`${forged}.sig`, await readFile(`${signed}.sig`));
    const refused = await run(forged, ci.publicKeyPem);
    expect(refused.exitCode).toBe(2);
    // The artifact differs too, and is the first thing compared after the key and the app.
    expect(refused.apps[0]?.message).toContain("artifact mismatch");
    expect(refused.apps[0]?.message).not.toContain("6.6.6");
    expect(await hashTree(box.appDir)).toEqual({});
  });

  // A release directory or a git tree has nothing a signature could cover in a timer run. It was
  // refused as "myapp release tree:<64 hex>: … has no signed artifact": the app named twice and
  // no word that the source's type, not a missing .sig, is the cause.
  it("a release directory is refused naming the path key and why it can never be signed", async () => {
    const dir = await box.release("dir", { "app.py": "print('dir')\n" }, { version: "2.0.0" });
    const refused = await run(dir, ci.publicKeyPem);
    expect(refused.exitCode).toBe(2);
    expect(refused.apps[0]?.message).toBe(
      `myapp: ship.toml sources.myapp.path: ${dir} is a release directory, which cannot carry a signature, and [trust] keys refuse every unsigned release: point path at the signed archive (ship release sign writes ARCHIVE.sig beside it)`,
    );
    expect(await hashTree(box.appDir)).toEqual({});
  });

  it.skipIf(!hasProgram("git"))(
    "a git source in a timer run is refused naming its type and where signed git releases come from",
    async () => {
      const repos = await makeRepos(join(box.root, "repos"));
      const config = AgentConfig.parse({
        ...box.config(repos.clone),
        sources: { myapp: { type: "git", local_path: repos.clone, app_dir: box.appDir } },
        trust: { keys: [ci.publicKeyPem] },
      });
      const refused = await runOnce(config, {
        force: true,
        checkOnly: false,
        log: memoryLogger(),
        delayScale: 0,
      });
      expect(refused.exitCode).toBe(2);
      expect(refused.apps[0]?.message).toBe(
        "myapp: ship.toml sources.myapp.type: a git release carries a signature only from the hub (ship release sign --git-commit), and [trust] keys refuse every unsigned release in a timer run: take this app's releases from the hub, or from a signed archive (http, sftp, local)",
      );
      expect(await hashTree(box.appDir)).toEqual({});
    },
  );
});
