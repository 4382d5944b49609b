/**
 * A release copy of a merged config that holds no key of any value, whatever its shape: TOML table
 * headers whose every key is commented out (`[server]` over `# port = 80`, the "all defaults" file
 * many apps ship), their YAML and JSON likes (`server: {}`, `{"server": {}}`), and an empty list
 * (`[]`), YAML's `server:` over commented-out keys (null) and TOML's `[[servers]]` over them (a list
 * of empty tables). Each removed every key the operator had never changed, or (`[]`) kept the copy as "a list as
 * a whole", where the same release written as 0 bytes or only comments is the keyless release rule:
 * the operator's copy byte for byte, a WARNING, 'did not merge'. And after a keyless release copy the
 * next release merged as without an earlier copy: a default it changed, one the operator never
 * touched, stayed the old one and was reported as the operator's ('kept'); it now follows the release,
 * merged against the last copy that held keys.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtOncePerKey } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { installRelease, type LocalApp, localApp, updateMergedFilesOnce } from "./local-app.js";

interface Case {
  action: string;
  file: string;
  v1: string;
  mine: string;
  /** Each keyless copy by what the WARNING says it holds. */
  keyless: Record<string, string>;
  /** v1 with the default `host` changed (db → db2) and a key added. */
  v3: string;
}

const cases: Case[] = [
  {
    action: "merge_toml",
    file: "config.toml",
    v1: '[server]\nport = 80\nhost = "db"\n\n[server.tls]\non = false\n',
    mine: '[server]\nport = 8080   # ops\nhost = "db"\n\n[server.tls]\non = false\n',
    keyless: {
      "only empty tables":
        '# all defaults\n[server]\n# port = 80\n# host = "db"\n\n[server.tls]\n# on = false\n',
      "only empty tables, one dotted header": "[server.tls]\n",
      "only empty tables, an array of tables": "[[server.pools]]\n# size = 4\n\n[server.tls]\n",
    },
    v3: '[server]\nport = 80\nhost = "db2"\n\n[server.tls]\non = false\n\n[log]\nlevel = "info"\n',
  },
  {
    action: "merge_yaml",
    file: "config.yaml",
    v1: "server:\n  port: 80\n  host: db\n  tls:\n    on: false\n",
    mine: "server:\n  port: 8080   # ops\n  host: db\n  tls:\n    on: false\n",
    keyless: {
      "only empty mappings": "# all defaults\nserver:\n  # port: 80\n  tls: {}\n",
      "an empty list": "[]\n",
      "an empty list, spaced": "--- [ ]\n",
      "only keys with no value": "# all defaults\nserver:\n  # port: 80\n",
      "only keys with no value, nested": "server:\n  tls:\n    # on: false\n",
      "only empty mappings, in a list": "servers:\n  - {}\n",
    },
    v3: "server:\n  port: 80\n  host: db2\n  tls:\n    on: false\nlog:\n  level: info\n",
  },
  {
    action: "merge_json",
    file: "config.json",
    v1: '{\n  "server": {\n    "port": 80,\n    "host": "db",\n    "tls": { "on": false }\n  }\n}\n',
    mine: '{\n  "server": {\n    "port": 8080,\n    "host": "db",\n    "tls": { "on": false }\n  }\n}\n',
    keyless: {
      "only empty mappings": '{ "server": { "tls": {} } }\n',
      "only empty mappings, in a list": '{ "servers": [{}] }\n',
      "only keys with no value": '{ "server": { "tls": null } }\n',
      "an empty list": "[]\n",
    },
    v3: '{\n  "server": {\n    "port": 80,\n    "host": "db2",\n    "tls": { "on": false }\n  },\n  "log": { "level": "info" }\n}\n',
  },
];

describe("a release copy of a merged config holding no key of any value", () => {
  // Every keyless copy of every case in one app, once, in this order: over the operator's copy of v1.
  const keylessCopies = cases.flatMap(({ action, file, v1, mine, keyless }) =>
    Object.entries(keyless).map(([what, copy]) => ({ what, action, file, v1, edited: mine, v2: copy })),
  );
  const keylessMerged = updateMergedFilesOnce(keylessCopies);
  for (const [i, { what, action, edited: mine }] of keylessCopies.entries()) {
    it(`${action}, ${what}: leaves the operator's copy byte for byte, with the keyless WARNING`, async () => {
      const { run, path, read } = await keylessMerged();
      const file = path(i);
      expect(await read(i)).toBe(mine);
      expect(run.stdout).toContain(`myapp: did not merge ${file}: the release's copy holds no keys`);
      expect(run.stderr).toContain(
        `merge of ${file}: the release's copy holds no keys (${what.replace(/, .*/, "")}): your copy was left as it is`,
      );
      expect(run.stderr).not.toContain("as a whole");
    });
  }

  // Each case's v1 installed in an app of its own for the story of three releases, removed after the block.
  const v1Installed = builtOncePerKey<LocalApp>();

  for (const { action, file, v1, mine, v3 } of cases) {
    const manifest = (version: string) =>
      `version: "${version}"\nfiles:\n  "${file}": { action: ${action} }\n`;
    const installedV1 = () =>
      v1Installed(action, async () => {
        const made = await localApp();
        await installRelease(made, "v1", manifest("1.0.0"), { [file]: v1 });
        return { dir: made.root, fixture: made };
      });

    it(`${action}: the release after a keyless one merges against the last copy that held keys`, async () => {
      const app = await installedV1();
      await writeFile(join(app.appDir, file), mine);
      await app.release("v2", manifest("2.0.0"), { [file]: "" });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      await app.release("v3", manifest("3.0.0"), { [file]: v3 });
      const run = await runShip(["--config", app.config, "--json"]);
      expect(run.code, run.stderr).toBe(0);
      const merged = await readFile(join(app.appDir, file), "utf8");
      // The operator's port stays; host, which only the release changed, takes its new default.
      expect(merged).toContain("8080");
      expect(merged).toContain("db2");
      expect(merged).toContain("info");
      const report = JSON.parse(run.stdout) as {
        apps: { merges?: { kept: string[]; updated: string[]; added: string[] }[] }[];
      };
      const merge = report.apps[0]?.merges?.[0];
      expect(merge?.kept).toEqual(["server.port"]);
      expect(merge?.updated).toEqual(["server.host"]);
      expect(merge?.added).toEqual(["log"]);
    });
  }
});
