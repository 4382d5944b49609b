/**
 * The operator deleted a whole table (TOML `[b]`, a YAML `b:` mapping, a JSON `"b": {}`) and the
 * release changes one key in it: the whole table came back, with the keys the release left alone
 * that the operator had deleted. The README: keys you deleted stay deleted unless the release
 * changed them. Now only what the release changed (or added) comes back, the same in all three
 * formats, and the key report says which deletions stayed; the file's header, which stays above
 * the operator's first key, is not written again over the table that comes back.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    file: "config.toml",
    action: "merge_toml",
    v1: 'port = 80\n\n[cache]\nsize = 100\nttl = 60\npath = "/var/cache"\n',
    mine: "port = 8080\n",
    v2: 'port = 80\n\n# cache of rendered pages\n[cache]\nsize = 100\nttl = 300\npath = "/var/cache"\n',
    merged: "port = 8080\n\n# cache of rendered pages\n[cache]\nttl = 300\n",
  },
  {
    file: "config.yaml",
    action: "merge_yaml",
    v1: "port: 80\ncache:\n  size: 100\n  ttl: 60\n  path: /var/cache\n",
    mine: "port: 8080\n",
    v2: "port: 80\n# cache of rendered pages\ncache:\n  size: 100\n  ttl: 300\n  path: /var/cache\n",
    merged: "port: 8080\n# cache of rendered pages\ncache:\n  ttl: 300\n",
  },
  {
    file: "config.json",
    action: "merge_json",
    v1: '{\n  "port": 80,\n  "cache": {\n    "size": 100,\n    "ttl": 60,\n    "path": "/var/cache"\n  }\n}\n',
    mine: '{\n  "port": 8080\n}\n',
    v2: '{\n  "port": 80,\n  "cache": {\n    "size": 100,\n    "ttl": 300,\n    "path": "/var/cache"\n  }\n}\n',
    merged: '{\n  "port": 8080,\n  "cache": {\n    "ttl": 300\n  }\n}\n',
  },
  // The deleted table was the file's first, under its header: the header stayed in the operator's
  // copy, over the key that now begins it, and came back again over the table.
  {
    file: "config.toml",
    action: "merge_toml",
    v1: "# myapp settings\n# the cache\n[cache]\nsize = 100\nttl = 60\n\n[server]\nport = 80\n",
    mine: "# myapp settings\n[server]\nport = 8080\n",
    v2: "# myapp settings\n# the cache\n[cache]\nsize = 100\nttl = 300\n\n[server]\nport = 80\n",
    merged: "# myapp settings\n[server]\nport = 8080\n\n[cache]\nttl = 300\n",
  },
  {
    file: "config.yaml",
    action: "merge_yaml",
    v1: "# myapp settings\n# the cache\ncache:\n  size: 100\n  ttl: 60\nport: 80\n",
    mine: "# myapp settings\nport: 8080\n",
    v2: "# myapp settings\n# the cache\ncache:\n  size: 100\n  ttl: 300\nport: 80\n",
    merged: "# myapp settings\nport: 8080\ncache:\n  ttl: 300\n",
  },
  // Every key deleted, the header left: the copy of only comments is the operator's, and the
  // header came a second time over the table the release brings back.
  {
    file: "config.toml",
    action: "merge_toml",
    v1: "# myapp settings\n[cache]\nsize = 100\nttl = 60\n",
    mine: "# myapp settings\n",
    v2: "# myapp settings\n[cache]\nsize = 100\nttl = 300\n",
    merged: "# myapp settings\n\n[cache]\nttl = 300\n",
  },
  {
    file: "config.yaml",
    action: "merge_yaml",
    v1: "# myapp settings\ncache:\n  size: 100\n  ttl: 60\n",
    mine: "# myapp settings\n",
    v2: "# myapp settings\ncache:\n  size: 100\n  ttl: 300\n",
    merged: "# myapp settings\n\ncache:\n  ttl: 300\n",
  },
  // The release only took keys out of the deleted table (here all of them, and one level down):
  // nothing in it changed or is new, yet it came back empty (`"cache": {}`, `[cache]`, `cache: {}`).
  {
    file: "config.json",
    action: "merge_json",
    v1: '{\n  "port": 80,\n  "cache": {\n    "ttl": 60\n  }\n}\n',
    mine: '{\n  "port": 8080\n}\n',
    v2: '{\n  "port": 80,\n  "cache": {}\n}\n',
    merged: '{\n  "port": 8080\n}\n',
  },
  {
    file: "config.toml",
    action: "merge_toml",
    v1: "port = 80\n\n[cache]\nttl = 60\n",
    mine: "port = 8080\n",
    v2: "port = 80\n\n[cache]\n",
    merged: "port = 8080\n",
  },
  {
    file: "config.yaml",
    action: "merge_yaml",
    v1: "port: 80\ncache:\n  disk:\n    ttl: 60\n  size: 1\n",
    mine: "port: 8080\n",
    v2: "port: 80\ncache:\n  disk: {}\n",
    merged: "port: 8080\n",
  },
];

describe("a table the operator deleted, one key of which the release changes", () => {
  // Every case in one app, once (updateMergedFilesOnce): case i is story i.
  const merged = updateMergedFilesOnce(cases.map((c) => ({ ...c, edited: c.mine })));

  for (const [i, { action, merged: expected }] of cases.entries()) {
    it(`${action} (story ${i}): only a changed key comes back, the others stay deleted`, async () => {
      const { run, read } = await merged();
      expect(await read(i)).toBe(expected);
      expect(run.stderr).not.toContain("WARNING");
    });
  }
});
