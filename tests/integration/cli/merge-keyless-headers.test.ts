/**
 * The "all defaults" release copy in the header forms the keyless rule does not yet read as keyless:
 * YAML's `server:` over commented-out keys (what YAML's likeness of TOML's `[server]` over
 * `# port = 80` parses to: server is null, not `{}`), and TOML's array-of-tables header `[[servers]]`
 * over commented-out keys (one empty table). README: a release copy holding "only empty tables (TOML
 * table headers whose every key is commented out …; YAML `server: {}` …)" is left alone. An operator
 * who never edited the file had every value deleted (`server:` → null; `[[servers]]` emptied),
 * reported as '1 updated', exit 0.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    what: "YAML `server:` over commented-out keys",
    action: "merge_yaml",
    file: "config.yaml",
    v1: "server:\n  port: 80\n  host: db\n",
    keyless: "# all defaults\nserver:\n  # port: 80\n  # host: db\n",
  },
  {
    what: "TOML `[[servers]]` over commented-out keys",
    action: "merge_toml",
    file: "config.toml",
    v1: '[[servers]]\nport = 80\nhost = "db"\n',
    keyless: '# all defaults\n[[servers]]\n# port = 80\n# host = "db"\n',
  },
];

describe("a release copy of headers over commented-out keys, other forms", () => {
  // Every case in one app, once (updateMergedFilesOnce): case i is story i, the operator's copy untouched.
  const merged = updateMergedFilesOnce(cases.map((c) => ({ ...c, v2: c.keyless })));

  for (const [i, { what, v1 }] of cases.entries()) {
    it(`${what}: the operator's untouched copy keeps its values, with the keyless WARNING`, async () => {
      const { run, path, read } = await merged();
      expect(await read(i)).toBe(v1);
      expect(run.stdout).toContain(`myapp: did not merge ${path(i)}: the release's copy holds no keys`);
    });
  }
});
