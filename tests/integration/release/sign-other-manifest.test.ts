/**
 * `ship release sign ARCHIVE --manifest FILE` where FILE is not the manifest inside the archive
 * (the same version, a comment changed): exit 0 and "signed", while every agent with an http, sftp
 * or local source verifies the manifest inside and refused the signature. It now says so in a note
 * (a hub release published with that --manifest does match it), and the agent's refusal is shown
 * here for real. Real processes: `ship release`, then `ship` with [trust].
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("ship release sign --manifest other than the archive's", () => {
  let dir: string;
  const release = (...args: string[]) => runShip(["release", ...args], { cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-sign-other-manifest-"));
    await mkdir(join(dir, "app"));
    await writeFile(join(dir, "app/update-manifest.yaml"), 'version: "1.2.0"\n');
    await writeFile(join(dir, "app/main.py"), "print(1)\n");
    expect(
      (await release("-C", "app", "http", "1.2.0", "x", "--app", "myapp", "--out", "../dist")).code,
    ).toBe(0);
    expect((await release("keygen", "--out", "keys")).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("notes that timer-mode agents will refuse the signature, and they do", async () => {
    await writeFile(join(dir, "edited.yaml"), 'version: "1.2.0"\n# reviewed\n');
    const signed = await release(
      "sign",
      "dist/myapp-1.2.0.tar.gz",
      "--key",
      "keys/ship-release.key",
      "--manifest",
      "edited.yaml",
    );
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stderr).toBe(
      `note: --manifest ${join(dir, "edited.yaml")} is not the update-manifest.yaml inside ${join(dir, "dist/myapp-1.2.0.tar.gz")}: agents with an http, sftp or local source verify the one inside and will refuse this signature; only a hub release published with this --manifest matches it\n`,
    );

    await mkdir(join(dir, "installed"));
    await writeFile(
      join(dir, "ship.toml"),
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nmin_interval_hours = 0\n\n[trust]\nkey_files = ["${dir}/keys/ship-release.pub"]\n\n[sources.myapp]\napp_dir = "${dir}/installed"\ntype = "local"\npath = "${dir}/dist/myapp-1.2.0.tar.gz"\n`,
    );
    const agent = await runShip(["--config", join(dir, "ship.toml")]);
    expect(agent.code, agent.stdout + agent.stderr).toBe(2);
    expect(agent.stdout).toMatch(
      /^myapp: signature: manifest mismatch: signed manifest digest [0-9a-f]{64}, this release has [0-9a-f]{64}\n$/,
    );

    // The manifest inside, as --manifest: no note, and the agent installs.
    const plain = await release("sign", "dist/myapp-1.2.0.tar.gz", "--key", "keys/ship-release.key");
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toBe("");
    const installed = await runShip(["--config", join(dir, "ship.toml")]);
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
  });
});
