/**
 * ship.log is JSON lines for log shippers, and strict JSON parsers (Elasticsearch's among them)
 * reject an object that names a key twice. An app's logger binds `app`, and lines such as "applied
 * update" name it again: every line of a real update, rollback and failure must hold each key once.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { runShip } from "../../support/ship-cli.js";

/** The keys of a JSON object that appear more than once (YAML 1.2 reads JSON and checks them). */
function repeatedKeys(line: string): string[] {
  return parseDocument(line, { uniqueKeys: true }).errors.map((e) => e.message);
}

describe("ship.log lines (real process)", () => {
  let root: string;
  let config: string;

  async function release(version: string, test = "true"): Promise<void> {
    const dir = join(root, "release");
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, "update-manifest.yaml"),
      `version: "${version}"\npost_update_tests:\n  - name: health\n    command: "${test}"\n`,
    );
    await writeFile(join(dir, "app.py"), `print("${version}")\n`);
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-loglines-"));
    config = join(root, "ship.toml");
    await mkdir(join(root, "app"));
    await writeFile(
      config,
      `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n[general.logging]\nlevel = "DEBUG"\nfile = "${root}/ship.log"\n\n[sources.myapp]\ntype = "local"\npath = "${root}/release"\napp_dir = "${root}/app"\n`,
    );
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("name every key once, through an update, a failed update and a rollback", async () => {
    await release("1.0.0");
    expect((await runShip(["--config", config])).code).toBe(0);
    await release("1.1.0");
    expect((await runShip(["--config", config])).code).toBe(0);
    await release("1.2.0", "false");
    expect((await runShip(["--config", config])).code).toBe(1);
    const listed = JSON.parse((await runShip(["--config", config, "--list-backups", "--json"])).stdout) as {
      id: string;
      version: string;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    expect((await runShip(["--config", config, "--rollback", toV1?.id ?? ""])).code).toBe(0);

    const lines = (await readFile(join(root, "ship.log"), "utf8")).trim().split("\n");
    expect(lines.length).toBeGreaterThan(20);
    const applied = lines.filter((l) => l.includes('"msg":"applied update"'));
    expect(applied.length).toBe(3);
    expect(JSON.parse(applied[0] ?? "{}")).toMatchObject({ app: "myapp", toVersion: "1.0.0" });
    for (const line of lines) expect(repeatedKeys(line), line).toEqual([]);
  }, 60_000);
});
