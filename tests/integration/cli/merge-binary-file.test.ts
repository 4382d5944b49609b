/**
 * A binary file a merge rule's glob matched (an image beside the configs, a .gz) was refused, exit
 * 2, as if it were text saved in another encoding: "byte 0x89 is not UTF-8 (a file saved in another
 * encoding, such as Latin-1?); save it as UTF-8". No editor re-saves a PNG as UTF-8: the message now
 * says what the file is, the rule that took it, and a rule that installs it. Text in another
 * encoding is still named so. The same test reads every non-UTF-8 input: ship.toml and manifests.
 * Real CLI, real files; the app is unchanged and no hook ran.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { hashTree } from "../pipeline/harness.js";
import { type LocalApp, localApp } from "./local-app.js";

const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082",
  "hex",
);
/** Bytes with neither a known format's start nor a NUL: control characters tell them from text. */
const CONTROL_BYTES = Buffer.from([0x80, 0x01, 0x02, 0xfe, 0x03, 0x90, 0x04, 0x05, 0x8f, 0x7f, 0x06]);

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const manifest = (version: string, pattern: string, action: string) =>
  `version: "${version}"\nfiles:\n  "${pattern}": {action: ${action}}\nhooks:\n  pre_update: ["touch ${"$"}SHIP_APP_DIR/../hook-ran"]\n`;

describe("a binary file under a merge rule (real CLI)", () => {
  const cases = [
    { name: "a PNG image", rel: "config/logo.png", bytes: PNG, pattern: "config/*", action: "merge_json" },
    {
      name: "a gzip file (.gz, .tar.gz)",
      rel: "etc/defaults.toml.gz",
      bytes: gzipSync("a = 1\n"),
      pattern: "etc/**",
      action: "merge_toml",
    },
    {
      name: "a binary file",
      rel: "conf/blob.yml",
      bytes: CONTROL_BYTES,
      pattern: "conf/*.yml",
      action: "merge_yaml",
    },
    {
      name: "a binary file",
      rel: "conf/random.yml",
      bytes: Buffer.concat([Buffer.from([0x01, 0x00, 0x00, 0x07]), randomBytes(4096)]),
      pattern: "conf/*.yml",
      action: "merge_yaml",
    },
  ];

  it.each(cases)("the release's $rel ($name): exit 2 naming it, the rule and the way out", async (c) => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const before = await hashTree(app.appDir);
    const v2 = await app.release("v2", manifest("2.0.0", c.pattern, c.action), { "app.txt": "v2\n" });
    await mkdir(dirname(join(v2, c.rel)), { recursive: true });
    await writeFile(join(v2, c.rel), c.bytes);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    const line = `${join(v2, c.rel)} cannot merge: the release's copy is ${c.name}, not text: the ${c.action} rule "${c.pattern}" took it, and a merge reads config text only; give it a rule of its own above that one ("${c.rel}": {action: replace}), or narrow "${c.pattern}"`;
    expect(run.stdout + run.stderr).toContain(line);
    expect(run.stdout + run.stderr).not.toContain("UTF-8");
    expect(await hashTree(app.appDir)).toEqual(before);
    await expect(readFile(join(app.root, "hook-ran"))).rejects.toThrow();
  });

  it("the way out the message gives works: a replace rule above the glob installs the image", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    const yaml = `version: "2.0.0"\nfiles:\n  "config/logo.png": {action: replace}\n  "config/*": {action: merge_json}\n`;
    const v2 = await app.release("v2", yaml, { "app.txt": "v2\n", "config/app.json": '{"a": 1}\n' });
    await writeFile(join(v2, "config/logo.png"), PNG);
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config/logo.png"))).toEqual(PNG);
  });

  it("the server's copy replaced by a gzip file: named as the server's copy", async () => {
    const files = { "settings.json": '{"a": 1}\n' };
    await app.release("v1", manifest("1.0.0", "*.json", "merge_json"), files);
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, "settings.json"), gzipSync('{"a": 2}\n'));
    const before = await hashTree(app.appDir);
    await app.release("v2", manifest("2.0.0", "*.json", "merge_json"), {
      "settings.json": '{"a": 1, "b": 2}\n',
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toContain(
      `${join(app.appDir, "settings.json")} cannot merge: the server's copy is a gzip file (.gz, .tar.gz), not text: the merge_json rule "*.json" took it`,
    );
    expect(await hashTree(app.appDir)).toEqual(before);
  });

  it("text in another encoding is still named so, not as binary", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    for (const [bytes, says] of [
      [Buffer.from('{"pass": "s\xe9cret"}\n', "latin1"), "byte 0xE9 is not UTF-8"],
      [Buffer.from('{"a": 1}\n', "utf16le"), "UTF-16 without a byte-order mark?"],
      [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"a": 1}\n', "utf16le")]), "it is UTF-16 text"],
    ] as const) {
      const v2 = await app.release("v2", manifest("2.0.0", "*.json", "merge_json"), { "app.txt": "v2\n" });
      await writeFile(join(v2, "settings.json"), bytes);
      const run = await runShip(["--config", app.config]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout + run.stderr).toContain(says);
      expect(run.stdout + run.stderr).toContain("save it as UTF-8");
      expect(run.stdout + run.stderr).not.toContain("not text: the merge_json rule");
    }
  });
});

describe("every other reader of non-UTF-8 input tells binary from text alike (real CLI)", () => {
  it("ship.toml that is a PNG or control bytes: named as binary, exit 2; a Latin-1 one still as Latin-1", async () => {
    await app.release("v1", 'version: "1.0.0"\n');
    for (const [bytes, says] of [
      [PNG, "is a PNG image, not text: a config file is UTF-8 TOML text"],
      [CONTROL_BYTES, "is a binary file, not text: a config file is UTF-8 TOML text"],
      [Buffer.from("[general]\n# caf\xe9\n", "latin1"), "a file saved as Latin-1?"],
    ] as const) {
      await writeFile(app.config, bytes);
      const run = await runShip(["--config", app.config, "--check-only"]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(app.config);
      expect(run.stderr).toContain(says);
    }
  });

  it("a manifest that is a PNG or control bytes is named as binary; a Latin-1 one as Latin-1", async () => {
    await app.release("v1", 'version: "1.0.0"\n');
    const file = join(app.root, "update-manifest.yaml");
    for (const [bytes, says] of [
      [PNG, "is a PNG image, not an update manifest"],
      [CONTROL_BYTES, "is not UTF-8 text (a binary file?), not an update manifest"],
      [Buffer.from('version: "1.0.0"\n# caf\xe9\n', "latin1"), "a file saved as Latin-1?"],
    ] as const) {
      await writeFile(file, bytes);
      const run = await runShip(["--test-manifest", file, "--config", app.config]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(says);
    }
  });
});
