/**
 * A release whose copy of a merged config holds no value — 0 bytes, or only comments — is no release
 * dropping every key (an empty file a build wrote, a template left unrendered). merge_yaml turned the
 * operator's config into `{}` and merge_toml into an empty file, every value the operator had not
 * changed gone, exit 0 with no warning; merge_json refused the same release with exit 2. In all three
 * the operator's copy now stays byte for byte, with a WARNING naming the file, in text and --json.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

interface Case {
  action: string;
  file: string;
  v1: string;
  mine: string;
  empties: Record<string, string>;
  v3: string;
}

const cases: Case[] = [
  {
    action: "merge_yaml",
    file: "config.yaml",
    v1: "# app\nport: 80\nhost: db\n",
    mine: "# app\nport: 8080   # ops\nhost: db\n",
    empties: {
      "0 bytes": "",
      "only comments": "# every setting has its default\n# port: 80\n",
      "a bare ---": "---\n",
    },
    v3: "# app\nport: 80\nhost: db\ntls: true\n",
  },
  {
    action: "merge_toml",
    file: "config.toml",
    v1: '# app\nport = 80\nhost = "db"\n',
    mine: '# app\nport = 8080   # ops\nhost = "db"\n',
    empties: { "0 bytes": "", "only comments": "# every setting has its default\n# port = 80\n" },
    v3: '# app\nport = 80\nhost = "db"\ntls = true\n',
  },
  {
    action: "merge_json",
    file: "config.json",
    v1: '{\n  "port": 80,\n  "host": "db"\n}\n',
    mine: '{\n  "port": 8080,\n  "host": "db"\n}\n',
    empties: { "0 bytes": "", "only white space": "\n  \n" },
    v3: '{\n  "port": 80,\n  "host": "db",\n  "tls": true\n}\n',
  },
];

describe("a release whose copy of a merged config holds no keys", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  for (const { action, file, v1, mine, empties, v3 } of cases) {
    for (const [what, empty] of Object.entries(empties)) {
      it(`${action}, ${what}: leaves the operator's copy as it is, exit 0, a WARNING naming the file`, async () => {
        const manifest = (version: string) =>
          `version: "${version}"\nfiles:\n  "${file}": { action: ${action} }\n`;
        await app.release("v1", manifest("1.0.0"), { [file]: v1 });
        expect((await runShip(["--config", app.config])).code).toBe(0);
        await writeFile(join(app.appDir, file), mine);
        await app.release("v2", manifest("2.0.0"), { [file]: empty });
        const run = await runShip(["--config", app.config, "--json"]);
        expect(run.code, run.stderr).toBe(0);
        expect(await readFile(join(app.appDir, file), "utf8")).toBe(mine);
        const report = JSON.parse(run.stdout) as {
          apps: { result: string; merges?: { file: string; kept: string[]; warnings: string[] }[] }[];
        };
        expect(report.apps[0]?.result).toBe("updated");
        const merges = report.apps[0]?.merges ?? [];
        expect(merges).toHaveLength(1);
        expect(merges[0]?.file).toBe(file);
        expect(merges[0]?.kept).toEqual(["port", "host"]);
        expect(merges[0]?.warnings).toEqual([
          expect.stringMatching(/^the release's copy holds no keys \(.+\): your copy was left as it is/),
        ]);
        expect(run.stderr).toContain(`merge of ${file}: the release's copy holds no keys`);
        // The next release with keys merges (the keyless copy is no previous copy to refuse): the
        // operator's value stays, the new key comes.
        await app.release("v3", manifest("3.0.0"), { [file]: v3 });
        const next = await runShip(["--config", app.config]);
        expect(next.code, next.stderr).toBe(0);
        const merged = await readFile(join(app.appDir, file), "utf8");
        expect(merged).toContain("8080");
        expect(merged).toMatch(/tls/);
      });
    }
  }

  it("prints the file's line and the WARNING in text output", async () => {
    const manifest = (version: string) =>
      `version: "${version}"\nfiles:\n  "config.yaml": { action: merge_yaml }\n`;
    await app.release("v1", manifest("1.0.0"), { "config.yaml": "port: 80\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("v2", manifest("2.0.0"), { "config.yaml": "" });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "config.yaml"), "utf8")).toBe("port: 80\n");
    expect(run.stdout).toContain(
      "myapp: did not merge config.yaml: the release's copy holds no keys, so your copy was left as it is",
    );
    expect(run.stderr).toContain(
      "myapp: WARNING: merge of config.yaml: the release's copy holds no keys (0 bytes)",
    );
  });
});
