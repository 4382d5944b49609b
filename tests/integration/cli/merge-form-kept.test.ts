/**
 * Through the real CLI, an operator's pyproject.toml and docker-compose file keep their form when a
 * release changes what they annotated: comments on the list items the release keeps, the spelling
 * of inline-table members, and a folded `command: >` in the release's lines. Each of these was
 * lost (the first two with no word).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
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

const realWorld = (version: string) => `version: "${version}"
files:
  "deploy.yaml": { action: merge_yaml }
  "Cargo.toml": { action: merge_toml }
  ".eslintrc.json": { action: merge_json }
`;

const deployV1 =
  'spec:\n  containers:\n    - name: web\n      image: web:1.0.0\n      args: ["--port", "8080"]\n      env:\n        - name: LOG_LEVEL\n          value: info\n';
const deployV2 =
  'spec:\n  containers:\n    - name: web\n      image: web:2.0.0\n      args: ["--port", "8080"]\n      env:\n        - name: LOG_LEVEL\n          value: info\n        - name: OTEL\n          value: "on"\n    - name: proxy\n      image: envoy:1.29\n';
const deployEdited =
  "spec:\n  containers:\n    # the app itself\n    - name: web\n      image: web:1.0.0   # bumped by the release\n      args: ['--port', '8080']\n      env:\n        # ops: keep at info\n        - name: LOG_LEVEL\n          value: info\n";

const cargoV1 =
  '[dependencies]\nserde = { version = "1", features = ["derive"] }\n\n[target.\'cfg(unix)\'.dependencies]\nnix = "0.26"\n';
const cargoV2 =
  '[dependencies]\nserde = { version = "1", features = ["derive", "rc"] }\n\n[target.\'cfg(unix)\'.dependencies]\nnix = "0.27"\nsignal-hook = "0.3"\n';
const cargoEdited =
  "[dependencies]\nserde = { version = '1', features = ['derive'] }   # pinned major\n\n[target.'cfg(unix)'.dependencies]\nnix = \"0.26\" # unix only\n";

const eslintV1 = '{\n  "extends": ["eslint:recommended"],\n  "rules": {"semi": "error"}\n}\n';
const eslintV2 = '{\n  "extends": ["eslint:recommended", "prettier"],\n  "rules": {"semi": "error"}\n}\n';
const eslintEdited = '{\n  "extends": ["eslint:recommended"],\n  "rules": {"semi": "off"}\n}\n';

describe("an operator's Kubernetes manifest, Cargo.toml and .eslintrc.json through a real update", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("keep the comments and spellings inside a changed list item, inline table and array, byte for byte; a rollback gives back the operator's bytes", async () => {
    const edited = { "deploy.yaml": deployEdited, "Cargo.toml": cargoEdited, ".eslintrc.json": eslintEdited };
    const { run, read } = await updateOverEdits(app, realWorld, {
      v1: { "deploy.yaml": deployV1, "Cargo.toml": cargoV1, ".eslintrc.json": eslintV1 },
      edited,
      v2: { "deploy.yaml": deployV2, "Cargo.toml": cargoV2, ".eslintrc.json": eslintV2 },
    });
    expect(await read("deploy.yaml")).toBe(
      "spec:\n  containers:\n    # the app itself\n    - name: web\n      image: web:2.0.0   # bumped by the release\n      args: ['--port', '8080']\n      env:\n        # ops: keep at info\n        - name: LOG_LEVEL\n          value: info\n        - name: OTEL\n          value: \"on\"\n    - name: proxy\n      image: envoy:1.29\n",
    );
    expect(await read("Cargo.toml")).toBe(
      "[dependencies]\nserde = { version = '1', features = ['derive', \"rc\"] }   # pinned major\n\n[target.'cfg(unix)'.dependencies]\nnix = \"0.27\" # unix only\nsignal-hook = \"0.3\"\n",
    );
    expect(await read(".eslintrc.json")).toBe(
      '{\n  "extends": ["eslint:recommended", "prettier"],\n  "rules": {"semi": "off"}\n}\n',
    );
    expect((run.stdout + run.stderr).split("\n").filter((line) => line.includes('"level":40'))).toEqual([]);

    const backups = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      replacedBy: string;
    }[];
    const before = backups.find((backup) => backup.replacedBy === "2.0.0");
    const rollback = await runShip(["--config", app.config, "--rollback", before?.id ?? "none"]);
    expect(rollback.code, rollback.stderr).toBe(0);
    for (const [name, text] of Object.entries(edited)) expect(await read(name)).toBe(text);
  });
});

const tomlForms = (version: string) => `version: "${version}"
files:
  "app.toml": { action: merge_toml }
`;

describe("an operator's TOML written in forms the merge used to rewrite, through a real update", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("a key for a table defined only through a sub-table holding dotted keys, and an inline table over lines, keep the file's form", async () => {
    // The first rewrote the whole file from values (comments, spellings gone, one WARNING); the
    // second put the inline table on one line, its comment named as gone.
    const { run, read } = await updateOverEdits(app, tomlForms, {
      v1: {
        "app.toml":
          'title = "app"\n\n[server.tls]\ncert.path = "/etc/a.pem"\n\n[db]\nconn = { host = "a", port = 5432 }\n',
      },
      edited: {
        "app.toml":
          '# my app\ntitle = "app" # mine\n\n[server.tls]\ncert.path = "/etc/b.pem" # ours\n\n[db]\nconn = {\n  host = "db.internal", # ops\n  port = 5432,\n}\n',
      },
      v2: {
        "app.toml":
          'title = "app"\n\n[server]\nport = 8080\n\n[server.tls]\ncert.path = "/etc/a.pem"\n\n[db]\nconn = { host = "a", port = 5432, pool = 10 }\n',
      },
    });
    expect(await read("app.toml")).toBe(
      '# my app\ntitle = "app" # mine\n\n[server]\nport = 8080\n\n[server.tls]\ncert.path = "/etc/b.pem" # ours\n\n[db]\nconn = {\n  host = "db.internal", # ops\n  port = 5432,\n  pool = 10,\n}\n',
    );
    expect((run.stdout + run.stderr).split("\n").filter((line) => line.includes('"level":40'))).toEqual([]);
  });
});

// Three hand-edited forms through a real update, each of which the merge broke: a JSON-braced
// config under merge_yaml with a `#` note (refused, exit 2, "Expected ',' or '}' after property
// value"), a TOML file of comments alone whose release adds a key and a table (rewritten whole from
// values, every comment lost), and an inline table with dotted members (turned into a nested one).
describe("hand-edited forms the merge used to refuse or rewrite", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("merge with their notes and forms kept, and no warning", async () => {
    const forms = (version: string) => `version: "${version}"
files:
  "settings.json": { action: merge_yaml }
  "extra.toml": { action: merge_toml }
  "pool.toml": { action: merge_toml }
`;
    const { run, read } = await updateOverEdits(app, forms, {
      v1: {
        "settings.json": '{\n  "port": 80,\n  "host": "a"\n}\n',
        "extra.toml": "",
        "pool.toml": "t = { a.b = 1, c = 2 }\n",
      },
      edited: {
        "settings.json": '{\n  "port": 80,\n  "host": "db.internal"  # ops\n}\n',
        "extra.toml": "# extra settings, all off\n\n# debug = true\n",
        "pool.toml": "t = { a.b = 1, c = 3 }\n",
      },
      v2: {
        "settings.json": '{\n  "port": 8080,\n  "host": "a"\n}\n',
        "extra.toml": "level = 1\n\n[cache]\nsize = 2\n",
        "pool.toml": "t = { a.b = 5, c = 2 }\n",
      },
    });
    expect(await read("settings.json")).toBe('{\n  "port": 8080,\n  "host": "db.internal"  # ops\n}\n');
    expect(await read("extra.toml")).toBe(
      "# extra settings, all off\n\nlevel = 1\n\n[cache]\nsize = 2\n\n# debug = true\n",
    );
    expect(await read("pool.toml")).toBe("t = { a.b = 5, c = 3 }\n");
    expect((run.stdout + run.stderr).split("\n").filter((line) => line.includes('"level":40'))).toEqual([]);
  });
});
