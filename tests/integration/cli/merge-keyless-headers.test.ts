/**
 * The "all defaults" release copy in the header forms the keyless rule does not yet read as keyless:
 * YAML's `server:` over commented-out keys (what YAML's likeness of TOML's `[server]` over
 * `# port = 80` parses to: server is null, not `{}`), and TOML's array-of-tables header `[[servers]]`
 * over commented-out keys (one empty table). README: a release copy holding "only empty tables (TOML
 * table headers whose every key is commented out …; YAML `server: {}` …)" is left alone. An operator
 * who never edited the file had every value deleted (`server:` → null; `[[servers]]` emptied),
 * reported as '1 updated', exit 0.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateOverEdits } from "./local-app.js";

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
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  for (const { what, action, file, v1, keyless } of cases) {
    it(`${what}: the operator's untouched copy keeps its values, with the keyless WARNING`, async () => {
      const manifest = (version: string) =>
        `version: "${version}"\nfiles:\n  "${file}": { action: ${action} }\n`;
      const { run, read } = await updateOverEdits(app, manifest, {
        v1: { [file]: v1 },
        edited: {},
        v2: { [file]: keyless },
      });
      expect(await read(file)).toBe(v1);
      expect(run.stdout).toContain(`myapp: did not merge ${file}: the release's copy holds no keys`);
    });
  }
});
