/**
 * Through the real CLI, an operator's pyproject.toml and docker-compose file keep their form when a
 * release changes what they annotated: comments on the list items the release keeps, the spelling
 * of inline-table members, and a folded `command: >` in the release's lines. Each of these was
 * lost (the first two with no word).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalApp, localApp, updateOverEdits } from "./local-app.js";

const manifest = (version: string) => `version: "${version}"
files:
  "pyproject.toml": { action: merge_toml }
  "compose.yaml": { action: merge_yaml }
`;

const v1 = {
  "pyproject.toml":
    '[project]\ndependencies = [\n    "requests>=2.28",\n    "click>=8",\n]\n\n[tool.app]\ndb = { host = "a", port = 5432 }\n',
  "compose.yaml":
    'services:\n  web:\n    image: web:1.0\n    ports:\n      - "80:80"\n    command: >\n      node server.js\n      --port 3000\n',
};

const v2 = {
  "pyproject.toml":
    '[project]\ndependencies = [\n    "requests>=2.31",\n    "click>=8",\n    "rich>=13",\n]\n\n[tool.app]\ndb = { host = "a", port = 5432, pool = 10 }\n',
  "compose.yaml":
    'services:\n  web:\n    image: web:2.0\n    ports:\n      - "80:80"\n      - "443:443"\n    command: >\n      node server.js\n      --port 3000\n      --cluster\n',
};

const edited = {
  "pyproject.toml":
    '[project]\r\ndependencies = [\r\n    "requests>=2.28",\r\n    "click>=8",   # cli\r\n]\r\n\r\n[tool.app]\r\ndb = { host = \'db.internal\', port = 0x1538 }\r\n',
  "compose.yaml":
    'services:\n  web:\n    image: web:1.0\n    ports:\n      - "80:80"   # http\n    command: >\n      node server.js\n      --port 3000\n',
};

describe("an operator's annotated configs through a real update", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("keep item comments, inline-table spellings and folded lines, byte for byte, with no warning", async () => {
    const { run, read } = await updateOverEdits(app, manifest, { v1, edited, v2 });
    expect(await read("pyproject.toml")).toBe(
      '[project]\r\ndependencies = [\r\n    "requests>=2.31",\r\n    "click>=8",   # cli\r\n    "rich>=13",\r\n]\r\n\r\n[tool.app]\r\ndb = { host = \'db.internal\', port = 0x1538, pool = 10 }\r\n',
    );
    expect(await read("compose.yaml")).toBe(
      'services:\n  web:\n    image: web:2.0\n    ports:\n      - "80:80"   # http\n      - "443:443"\n    command: >\n      node server.js\n      --port 3000\n      --cluster\n',
    );
    expect((run.stdout + run.stderr).split("\n").filter((line) => line.includes('"level":40'))).toEqual([]);
  });
});
