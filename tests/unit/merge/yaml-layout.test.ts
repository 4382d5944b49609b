import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { checkMergeInput, mergeConfigFile } from "../../../agent/merge/index.js";
import { parseYaml, rebuildFromValues } from "../../../agent/merge/yaml-format.js";

const merge = (current: string, incoming: string, base?: string) =>
  mergeConfigFile({
    format: "yaml",
    fileName: "app.yaml",
    current,
    incoming,
    strategy: "preserve_user",
    ...(base === undefined ? {} : { base }),
  });

describe("YAML merges keep the layout of the user's lines", () => {
  it("aligned comments keep their column on kept, changed and neighbouring lines", () => {
    const base = "server:\n  port: 8080\n  host: a\nother: 1\n";
    const current = "server:\n  port: 9090      # mine\n  host: a         # host\nother: 1   # o\n";
    const result = merge(current, "server:\n  port: 8080\n  host: b\nother: 1\nnew: 2\n", base);
    expect(result.text).toBe(
      "server:\n  port: 9090      # mine\n  host: b         # host\nother: 1   # o\nnew: 2\n",
    );
    expect(result.warnings).toEqual([]);
  });

  it("list items the user writes each on one line stay so where the release writes them in lines", () => {
    // The items the release changed or added came as its block lines among the user's `- {…}` ones.
    const base = "s:\n  - {id: 1, p: 1}\n  - {id: 2, p: 1}\n";
    const incoming = "s:\n  - id: 0\n    p: 0\n  - id: 1\n    p: 2\n  - id: 2\n    p: 1\n";
    const result = merge(base, incoming, base);
    expect(result.text).toBe("s:\n  - {id: 0, p: 0}\n  - {id: 1, p: 2}\n  - {id: 2, p: 1}\n");
    expect(result.warnings).toEqual([]);
    // Items the user writes in lines take the release's items in lines.
    const lines = "s:\n  - id: 1\n    p: 1\n";
    expect(merge(lines, "s:\n  - {id: 0, p: 0}\n  - {id: 1, p: 1}\n", lines).text).toBe(
      "s:\n  - {id: 0, p: 0}\n  - id: 1\n    p: 1\n",
    );
  });

  it("a changed value keeps the user's comment after it, even when the release has its own there", () => {
    const result = merge("port: 8080      # the port\n", "port: 9090 # release note\n", "port: 8080\n");
    expect(result.text).toBe("port: 9090      # the port\n");
  });

  it("a comment on a block scalar's `|` line stays when the release changes the text, or writes it on one line", () => {
    const base = "script: |\n  echo a\nname: x\n";
    const current = "script: | # run at boot\n  echo a\nname: x # mine\n";
    const cases = [
      ["script: |\n  echo b\nname: y\n", "script: | # run at boot\n  echo b\nname: y # mine\n"],
      ["script: >+\n  echo b\n\nname: y\n", "script: >+ # run at boot\n  echo b\n\nname: y # mine\n"],
      ["script: echo b\nname: y\n", "script: echo b # run at boot\nname: y # mine\n"],
    ];
    for (const [incoming, expected] of cases) {
      const result = merge(current, incoming as string, base);
      expect(result.text).toBe(expected);
      expect(result.warnings).toEqual([]);
    }
    // A one-line value the release writes as a block scalar keeps its comment on the `|` line.
    const grown = merge(
      "script: echo a # run at boot\n",
      "script: |\n  echo a\n  echo b\n",
      "script: echo a\n",
    );
    expect(grown.text).toBe("script: | # run at boot\n  echo a\n  echo b\n");
    expect(grown.warnings).toEqual([]);
  });

  it("keeps flow collections, spellings, plain scalars over two lines and a comment after a key", () => {
    const current = [
      "srv: {port: 1, host: a}   # flow",
      "list: [1, 2]",
      "hex: 0x1F",
      "exp: 1e3",
      "text: this is",
      "  continued",
      "section:     # about the section",
      "  x: 1",
      "tab:\t1",
      "",
    ].join("\n");
    const base =
      "srv: {port: 1, host: a}\nlist: [1, 2]\nhex: 31\nexp: 1000\ntext: this is continued\nsection:\n  x: 1\ntab: 1\n";
    const incoming = base.replace("host: a", "host: b").replace("x: 1", "x: 2");
    const result = merge(current, incoming, base);
    expect(result.text).toBe(current.replace("host: a", "host: b").replace("x: 1", "x: 2"));
    expect(result.warnings).toEqual([]);
  });

  it("a list the release replaces keeps the user's style: `- a` lines stay lines, `[a, b]` stays on its line", () => {
    // As JSON keeps a user's one-line or multi-line array; the release's style is not the user's.
    const base = "hosts: [a, b]\nservers: [{name: a, port: 1}]\nempty: []\n";
    const incoming = "hosts:\n  - a\n  - c\nservers: [{name: a, port: 2}]\nempty: [x]\n";
    const block = merge(
      "hosts:\n- a\n- b\nservers:\n- name: a\n  port: 1\nempty: []\n",
      incoming.replace("hosts:\n  - a\n  - c", "hosts: [a, c]"),
      base,
    );
    expect(block.text).toBe("hosts:\n- a\n- c\nservers:\n- name: a\n  port: 2\nempty: [x]\n");
    const flow = merge("hosts: [a, b]   # ours\nservers: [{name: a, port: 1}]\nempty: []\n", incoming, base);
    expect(flow.text).toBe("hosts: [a, c]   # ours\nservers: [{name: a, port: 2}]\nempty: [x]\n");
    expect([...block.warnings, ...flow.warnings]).toEqual([]);
  });

  it("a block list the release replaces keeps the user's comments on the items it still holds; a dropped item's go, named", () => {
    // docker-compose ports: the operator's `# http` went with the release's new list, with a WARNING.
    const base = 'ports:\n  - "80:80"\n  - "8080:8080"\nx: 1\n';
    const current =
      'ports:\n  - "80:80"   # http\n  # ops: debug port, remove after INC-7\n  - "8080:8080"\n  # - "9090:9090"\nx: 1\n';
    const result = merge(current, 'ports:\n  - "443:443"\n  - "80:80"\nx: 1\n', base);
    expect(result.text).toBe('ports:\n  - "443:443"\n  - "80:80"   # http\n  # - "9090:9090"\nx: 1\n');
    expect(result.warnings).toEqual([
      "ports: the release's value replaced yours, and your comments inside it went with it (# ops: debug port, remove after INC-7 (line 3))",
    ]);
    // Merged again (nothing changed since), nothing moves.
    const again = merge(
      result.text,
      'ports:\n  - "443:443"\n  - "80:80"\nx: 1\n',
      'ports:\n  - "443:443"\n  - "80:80"\nx: 1\n',
    );
    expect(again.text).toBe(result.text);
  });

  it("a list the release changes keeps the user's spelling of the items it still holds", () => {
    // Compose ports: the operator's `'80:80'` became the release's `"80:80"` (its comment lost its
    // gap), a plain `8080:8080` was quoted and `0x50` became `80`, with no word.
    const base = 'ports:\n  - "80:80"\n  - "8080:8080"\ncodes: [80, 1.0]\ntags: [a, b]\n';
    const current =
      "ports:\n  - '80:80'   # http\n  - 8080:8080\ncodes:\n  - 0x50\n  - 1.0\ntags: ['a', \"b\"]\n";
    const incoming =
      'ports:\n  - "80:80"\n  - "8080:8080"\n  - "443:443" # tls\ncodes: [80, 1.0, 443]\ntags: [a, b, c]\n';
    const result = merge(current, incoming, base);
    expect(result.text).toBe(
      "ports:\n  - '80:80'   # http\n  - 8080:8080\n  - \"443:443\" # tls\ncodes:\n  - 0x50\n  - 1.0\n  - 443\ntags: ['a', \"b\", c]\n",
    );
    expect(result.warnings).toEqual([]);
    expect(merge(result.text, incoming, incoming).text).toBe(result.text);
  });

  it("a folded block scalar the release changes or adds keeps the release's lines; the user's stay theirs", () => {
    // The library wrote `command: >` on one line (lineWidth 0), and a WARNING named the user's lines
    // of the old command as a layout they lost.
    const base = "web:\n  command: >\n    node server.js\n    --port 3000\n  image: a\n";
    const current =
      "web:\n  command: >\n    node server.js\n    --port 3000\n  image: mine   # pinned\n  desc: >-\n    my own\n    words\n";
    const incoming =
      "web:\n  command: >\n    node server.js\n    --port 3000\n    --cluster\n  image: b\njobs:\n  - name: x\n    cmd: >-\n      do\n      it\n";
    const result = merge(current, incoming, base);
    expect(result.text).toBe(
      "web:\n  command: >\n    node server.js\n    --port 3000\n    --cluster\n  image: mine   # pinned\n  desc: >-\n    my own\n    words\njobs:\n  - name: x\n    cmd: >-\n      do\n      it\n",
    );
    expect(result.updated).toEqual(["web.command"]);
    expect(result.warnings).toEqual([]);
    expect(parseDocument(result.text).toJS()).toEqual({
      web: { command: "node server.js --port 3000 --cluster\n", image: "mine", desc: "my own words" },
      jobs: [{ name: "x", cmd: "do it" }],
    });
  });

  it("a folded block scalar the release brings is indented by the user's file's step, as a literal one is", () => {
    // In a file indented by 4, the release's `command: >` had its lines 2 deeper than the key
    // (the release's step) while its `script: |` had them 4 deeper.
    const base = "web:\n  image: a\n  command: >\n    node\n      --x\n";
    const current = "web:\n    image: b\n    command: >\n        node\n          --x\n";
    const incoming = "web:\n  image: a\n  command: >\n    node\n      --y\n  script: |\n    echo hi\n";
    const result = merge(current, incoming, base);
    expect(result.text).toBe(
      "web:\n    image: b\n    command: >\n        node\n          --y\n    script: |\n        echo hi\n",
    );
    expect(result.warnings).toEqual([]);
    expect(merge(result.text, incoming, incoming).text).toBe(result.text);
  });

  it("a new flow collection comes spaced as the release spaces it: `[80]` stays `[80]`, `[ 80 ]` stays so", () => {
    const base = "services:\n  web:\n    image: a\n";
    const tight = merge(base, "services:\n  web:\n    image: a\n    ports: [80]\n    env: {A: 1}\n", base);
    expect(tight.text).toBe("services:\n  web:\n    image: a\n    ports: [80]\n    env: {A: 1}\n");
    const padded = merge(base, "services:\n  web:\n    image: a\n    ports: [ 80 ]\n", base);
    expect(padded.text).toBe("services:\n  web:\n    image: a\n    ports: [ 80 ]\n");
  });

  it("a key or item the release adds to a flow mapping or list the user wrote over lines is indented as its siblings", () => {
    // The library indents such a collection 2 deeper than the user (under its key): the new member
    // came 2 spaces right of the user's, beside their comments.
    const mapping = merge(
      "tls: {\n  cert: a.pem, # ops\n  key: a.key  # ops\n}\n",
      "tls: {\n  cert: a.pem,\n  key: a.key,\n  ca: ca.pem\n}\n",
      "tls: {\n  cert: a.pem,\n  key: a.key\n}\n",
    );
    expect(mapping.text).toBe("tls: {\n  cert: a.pem, # ops\n  key: a.key, # ops\n  ca: ca.pem\n}\n");
    const list = merge(
      "ports: [\n    80, # http\n    443\n]\n",
      "ports: [80, 443, 8443]\n",
      "ports: [80, 443]\n",
    );
    expect(list.text).toBe("ports: [\n    80, # http\n    443,\n    8443\n]\n");
    expect([...mapping.warnings, ...list.warnings]).toEqual([]);
  });

  it("a footer below the file's last nested mapping stays last when the release adds a top-level key", () => {
    // The library holds the footer on that mapping, so the new key landed below the footer.
    const base = "a: 1\nb:\n  c: 2\n";
    const current = "a: 1\nb:\n  c: 2\n  # end of b\n\n# footer: managed by ops\n";
    const result = merge(current, "a: 1\nb:\n  c: 2\n  d: 3\ne: 4\n", base);
    expect(result.text).toBe("a: 1\nb:\n  c: 2\n  d: 3\n  # end of b\ne: 4\n\n# footer: managed by ops\n");
    expect(result.warnings).toEqual([]);
  });

  it("a list of mappings the release changes keeps the user's items it still holds whole, comments and quoting inside", () => {
    // Kubernetes containers: the release added a sidecar and every comment of the operator's went.
    const base = "containers:\n  - name: web\n    image: web:1\n  - name: side\n    image: side:1\n";
    const current =
      'containers:\n  # main container\n  - name: web   # main\n    image: "web:1"\n  # ops: remove after Q3\n  - name: side\n    image: side:1   # pinned\n';
    const result = merge(current, `${base}  - name: metrics\n    image: prom:2\n`, base);
    expect(result.text).toBe(`${current}  - name: metrics\n    image: prom:2\n`);
    expect(result.warnings).toEqual([]);
    // An item the release changed is the user's item holding the release's values: its comments stay.
    const changed = merge(current, base.replace("web:1", "web:2"), base);
    expect(changed.text).toBe(
      "containers:\n  # main container\n  - name: web   # main\n    image: web:2\n  # ops: remove after Q3\n  - name: side\n    image: side:1   # pinned\n",
    );
    expect(changed.warnings).toEqual([]);
  });

  it("a file that ends with `---` (an empty second document), or is only `---`, is merged", () => {
    // Refused as a file of two documents (exit 2) on every update, though it holds one.
    const result = merge("---\na: 1\nb: 2   # mine\n---\n# end of manifest\n", "a: 2\n---\n", "a: 1\n");
    expect(result.text).toBe("---\na: 2\nb: 2   # mine\n---\n# end of manifest\n");
    expect(result.updated).toEqual(["a"]);
    expect(() => checkMergeInput("yaml", "a: 1\n---\n", "app.yaml", "server")).not.toThrow();
    // A copy that is only `---` is an empty mapping, as a blank one is, not a null value that keeps
    // the release's changes out (`kept: (the whole file)`).
    const empty = merge("---\n", "a: 2\nb: 1\n", "a: 1\nb: 1\n");
    expect(empty.text).toBe("---\na: 2\n");
    expect([empty.added, empty.kept, empty.deleted]).toEqual([["a"], [], ["b"]]);
    // A second document that holds something is still refused.
    expect(() => checkMergeInput("yaml", "a: 1\n---\nb: 2\n", "app.yaml", "server")).toThrow(
      /more than one YAML document/,
    );
  });

  it("a file that is one list (an Ansible tasks file) keeps the user's items and comments", () => {
    // The whole file is one value, so the release's copy replaced it: every comment went, named.
    const base =
      "- name: Install nginx\n  apt:\n    name: nginx\n    state: present\n- name: Start\n  service: {name: nginx}\n";
    const current = base
      .replace("state: present", "state: present   # pinned by ops")
      .replace("- name: Start", "# start it\n- name: Start");
    const incoming = `${base.replace("state: present", "state: latest")}- name: Enable\n  service: {enabled: true}\n`;
    const result = merge(current, incoming, base);
    expect(result.text).toBe(
      `${current.replace("state: present  ", "state: latest   ")}- name: Enable\n  service: {enabled: true}\n`,
    );
    expect(result.warnings).toEqual([]);
    expect(merge(result.text, incoming, incoming).text).toBe(result.text);
  });

  it("a list item the release adds keeps the flow collections the release writes inside it", () => {
    // A new container's `command: ["envoy", "-c"]` and `resources: {limits: {cpu: 2}}` came as block
    // lines, written so by neither file, with no word.
    const base =
      'containers:\n  - name: web\n    args: ["--port", "8080"]\n    resources: {limits: {cpu: 1}}\n';
    const added = '  - name: proxy\n    command: ["envoy", "-c"]\n    resources: {limits: {cpu: 2}}\n';
    const result = merge(`${base}x: 1\n`, `${base}${added}`, base);
    expect(result.text).toBe(`${base}${added}x: 1\n`);
    expect(result.warnings).toEqual([]);
  });

  it("a list item the release changes keeps the user's comments and spellings inside it", () => {
    // A container whose image the release bumps (with a sidecar added above it): every comment of the
    // operator's inside it went, named in a WARNING, and their quoting with no word.
    const base = [
      "containers:",
      "  - name: web",
      "    image: web:1",
      "    env:",
      "      - name: A",
      '        value: "1"',
      "    resources:",
      '      limits: {cpu: "1", memory: 1Gi}',
      "  - name: old",
      "    image: old:1",
      "",
    ].join("\n");
    const current = [
      "containers:",
      "  - name: web",
      "    image: web:1   # CI bumps this",
      "    env:",
      "      # the knob",
      "      - name: A",
      "        value: '1'",
      "    resources:",
      '      limits: {cpu: "1", memory: 1Gi}  # sized by ops',
      "  # going away",
      "  - name: old",
      "    image: old:1",
      "",
    ].join("\n");
    const incoming = [
      "containers:",
      "  - name: metrics",
      "    image: m:1",
      "  - name: web",
      "    image: web:2",
      "    env:",
      "      - name: A",
      '        value: "1"',
      "      - name: B",
      '        value: "2"',
      "    resources:",
      "      limits:",
      '        cpu: "2"',
      "        memory: 1Gi",
      "",
    ].join("\n");
    const result = merge(current, incoming, base);
    expect(result.text).toBe(
      [
        "containers:",
        "  - name: metrics",
        "    image: m:1",
        "  - name: web",
        "    image: web:2   # CI bumps this",
        "    env:",
        "      # the knob",
        "      - name: A",
        "        value: '1'",
        "      - name: B",
        '        value: "2"',
        "    resources:",
        '      limits: {cpu: "2", memory: 1Gi}  # sized by ops',
        "",
      ].join("\n"),
    );
    // An item of the user's without comments takes the release's text, with the release's comments.
    const plain = merge(base, incoming.replace("    image: web:2", "    # new in 2\n    image: web:2"), base);
    expect(plain.text).toContain("  - name: web\n    # new in 2\n    image: web:2\n");
    // Only the comment of the item the release dropped goes, named.
    expect(result.warnings).toEqual([
      "containers: the release's value replaced yours, and your comments inside it went with it (# going away (line 10))",
    ]);
    expect(merge(result.text, incoming, incoming).text).toBe(result.text);
  });

  it("a comment between a key and its value stays when the value changes, with no warning", () => {
    const above = merge(
      "image:\n  # pinned by ops, see INC-42\n  web:1.0\nx: 1\n",
      "image: web:2.0\nx: 1\n",
      "image: web:1.0\nx: 1\n",
    );
    expect(above.text).toBe("image:\n  # pinned by ops, see INC-42\n  web:2.0\nx: 1\n");
    const after = merge(
      "image: # pinned by ops\n  web:1.0\nx: 1\n",
      "image: web:2.0\nx: 1\n",
      "image: web:1.0\nx: 1\n",
    );
    expect(after.text).toBe("image: # pinned by ops\n  web:2.0\nx: 1\n");
    expect([...above.warnings, ...after.warnings]).toEqual([]);
  });

  it("never changes a block scalar's text, folded or literal, and keeps `...` and a missing final newline", () => {
    const current =
      "text: >-\n  a\n  b\n\n  c\nscript: |\n  echo  hi   # not a comment\nport: 1     # p\n...";
    const base = "text: a b\nscript: |\n  echo  hi   # not a comment\nport: 1\n";
    const result = merge(current, base.replace("port: 1", "port: 2"), base);
    expect(result.text).toBe(current.replace("port: 1", "port: 2"));
  });

  it("a value whose lines the merge must rewrite: the warning names the lines that lost their layout", () => {
    const current = "srv: {port: 1,\n      host: a}\nkeep: 1   # mine\n";
    const base = "srv: {port: 1, host: a}\nkeep: 1\n";
    const result = merge(current, "srv: {port: 1, host: b}\nkeep: 1\n", base);
    expect(result.text).toBe("srv: {port: 1, host: b}\nkeep: 1   # mine\n");
    expect(result.warnings).toEqual([
      "lines 1 (`srv: {port: 1,`), 2 (`host: a}`) lost their layout (spacing, quoting, line breaks, comment position), because the merge changed them: rewritten in the merge's own layout",
    ]);
  });

  it("an aligned comment keeps its column when the value before it grows", () => {
    const base = "a:\n  on: true\n  pool: 5\n";
    const current = "a:\n  on: true     # a\n  pool: 5         # mine\n";
    const result = merge(current, "a:\n  on: false\n  pool: 10\n", base);
    expect(result.text).toBe("a:\n  on: false    # a\n  pool: 10        # mine\n");
  });

  it("a comment whose column the grown value passes keeps the user's spacing before it", () => {
    // Past the column, the comment was pushed against the value with one space (`[1, 2, 3] # a`).
    const base = "a: [1, 2]\nb: 1\nc: {x: 1}\n";
    const current = "a: [1, 2]   # a\nb: 1    # b\nc: {x: 1}  # c\n";
    const release = "a: [1, 2, 3]\nb: 1000000000\nc: {x: 1, y: 2}\n";
    expect(merge(current, release, base).text).toBe(
      "a: [1, 2, 3]   # a\nb: 1000000000    # b\nc: {x: 1, y: 2}  # c\n",
    );
  });

  it("a `  #` inside a quoted value is no comment: the real comment after it keeps its column", () => {
    const base = 'a: "x   # y"\nm: {k: 1}\n';
    const current = 'a:  "x   # y"   # real\nm: {k: 1}\n';
    const result = merge(current, 'a: "xy   # y"\nm: {k: 1}\n', base);
    expect(result.text).toBe('a:  "xy   # y"  # real\nm: {k: 1}\n');
    expect(result.warnings).toEqual([]);
  });

  it("tabs before a comment stay tabs on a changed line", () => {
    // Counted as characters, `x: 1\t\t# c` came back as `x: 2  # c`.
    const result = merge(
      "t:\n  x: 1\t\t# c\n  z: 1 \t # d\n",
      "t:\n  x: 2\n  z: 22\n",
      "t:\n  x: 1\n  z: 1\n",
    );
    expect(result.text).toBe("t:\n  x: 2\t\t# c\n  z: 22 \t # d\n");
  });

  it("a value the release replaces whole takes the user's comments inside it along, with a warning", () => {
    const base = "hosts:\n  - name: a\n  - name: b\nport: 1\n";
    const current = "hosts:\n  - name: a     # first\n  - name: b\nport: 1    # was scalar\n";
    const result = merge(current, "hosts:\n  - name: c\nport:\n  http: 80\n", base);
    // The comment after a scalar turned mapping stays on its line, after the key (see below).
    expect(result.text).toBe("hosts:\n  - name: c\nport:      # was scalar\n  http: 80\n");
    expect(result.warnings).toEqual([
      "hosts: the release's value replaced yours, and your comments inside it went with it (# first (line 2))",
    ]);
  });
});

describe("YAML: a mapping the user indents deeper than the library writes", () => {
  // The library indents 2 spaces a level; a hand-edited file often has 4 (or 6) in one mapping.
  it("gets a new key at its own indentation, and every other line stays as written", () => {
    const base = "app:\n  db:\n      host: a\n      port: 1\nlog:\n    level: info\n";
    const result = merge(
      base,
      "app:\n  db:\n    host: a\n    port: 1\n    pool: 5\nlog:\n  level: info\n",
      base,
    );
    expect(result.text).toBe(
      "app:\n  db:\n      host: a\n      port: 1\n      pool: 5\nlog:\n    level: info\n",
    );
    expect(result.added).toEqual(["app.db.pool"]);
    expect(result.warnings).toEqual([]);
  });

  it("the last key before the new one has a comment after it: an earlier sibling says the indentation", () => {
    const base = "app:\n  db:\n      host: a\n      opts:  # tuned\n          ssl: true\nlog: 1\n";
    const incoming =
      "app:\n  db:\n    host: a\n    opts:\n      ssl: true\n    pool:\n      size: 5\nlog: 1\n";
    const result = merge(base, incoming, base);
    expect(result.text).toBe(
      "app:\n  db:\n      host: a\n      opts:  # tuned\n          ssl: true\n      pool:\n        size: 5\nlog: 1\n",
    );
    expect(result.warnings).toEqual([]);
  });
});

describe("YAML number spellings: a merge writes a number as its file spells it, never re-spelled or rounded", () => {
  const precise = "0.1000000000000000055511151231257827";
  const yaml = (current: string, incoming: string, strategy: "replace" | "update_only", base?: string) =>
    mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current,
      incoming,
      strategy,
      ...(base === undefined ? {} : { base }),
      // A section keeps the merge a merge under replace (a plain replace takes the release's text).
      ...(strategy === "replace" ? { sections: { a: { strategy: "replace", preserve_keys: [] } } } : {}),
    });

  it("a value the release sets or adds keeps the release's digits, exponent, base and case", () => {
    const numbers = `p: ${precise}\n  e: 1.5e300\n  h: 0x1F\n  f: 1.0\n  big: 123456789012345678901234567890\n  z: -0.0\n  E: 1E+2\n  o: 0o17\n  n: .NaN\n`;
    const set = yaml("a:\n  p: 1\n", `a:\n  ${numbers}`, "replace");
    expect(set.text).toBe(`a:\n  ${numbers}`);
    const added = yaml("x: 1\n", `x: 1\na:\n  ${numbers}`, "update_only");
    expect(added.text).toBe(`x: 1\na:\n  ${numbers}`);
    expect(added.warnings).toEqual([]);
  });

  it("the user's spelling stays where the release's value is the same number, also inside a value the merge rewrites", () => {
    const result = yaml("a: [1.50, 1]\n", "a: [1.5, 0x1F]\n", "replace");
    expect(result.text).toBe("a: [1.50, 0x1F]\n");
    // More digits than a double holds are another decimal (exact-floats.ts), in a list too: the
    // release's `0.1` is its own value, not a respelling of the user's.
    expect(yaml(`a: [${precise}, 1]\n`, "a: [0.1, 0x1F]\n", "replace").text).toBe("a: [0.1, 0x1F]\n");
  });

  it("a value copied from the release's values (its alias cannot be kept) keeps the spellings", () => {
    const result = yaml("defs: {r: 1}\n", "defs: &d {r: 1.0, h: 0xFF}\nuse: *d\n", "update_only");
    expect(result.text).toBe("defs: {r: 1, h: 0xFF}\nuse:\n  r: 1.0\n  h: 0xFF\n");
  });

  it("a file rebuilt from values keeps the user's and the release's spellings", () => {
    const user = parseYaml("a: {k: 1.0, h: 0x1F}\n", "app.yaml", "server");
    const release = parseYaml("a: {k: 2.50, h: 0x1F}\nb: {e: 1.5e300, k: 1.0}\n", "app.yaml", "release");
    expect(rebuildFromValues({ a: { k: 2.5, h: 31 }, b: { e: 1.5e300, k: 1 } }, user, release)).toBe(
      "a:\n  k: 2.50\n  h: 0x1F\nb:\n  e: 1.5e300\n  k: 1.0\n",
    );
  });

  it("quoted numbers stay strings, as quoted", () => {
    const result = yaml("a: '1.0'\n", "a: '2.0'\nb: \"0x1F\"\n", "replace");
    expect(result.text).toBe("a: '2.0'\nb: \"0x1F\"\n");
  });
});

describe("YAML integers and floats are two types (!!int and !!float)", () => {
  it("a release turning an integer the user never touched into a float (1 → 1.0) updates it, and back", () => {
    const base = "ratio: 1\nscale: 2.0\nmine: 3\n";
    const result = merge("ratio: 1\nscale: 2.0\nmine: 3.0\n", "ratio: 1.0\nscale: 2\nmine: 3\n", base);
    expect(result.text).toBe("ratio: 1.0\nscale: 2\nmine: 3.0\n");
    expect(result.updated).toEqual(["ratio", "scale"]);
    expect(result.kept).toEqual(["mine"]);
  });
});

describe("YAML explicit tags (!!binary, !!set, !!omap) are values like any other", () => {
  const tagged = "bin: !!binary aGVsbG8=\ns: !!set {x, y}\no: !!omap [k: 1, j: 2]\n";
  const yaml = (
    current: string,
    incoming: string,
    strategy: "update_only" | "preserve_user",
    base?: string,
  ) =>
    mergeConfigFile({
      format: "yaml",
      fileName: "app.yaml",
      current,
      incoming,
      strategy,
      ...(base === undefined ? {} : { base }),
    });

  it("an equal value is neither kept nor updated, and the file is edited in place", () => {
    const result = yaml(`# mine\n${tagged}`, `${tagged}b: 1\n`, "update_only");
    expect(result.text).toBe(`# mine\n${tagged}b: 1\n`);
    expect(result).toMatchObject({ kept: [], added: ["b"], updated: [], warnings: [] });
  });

  it("a changed one follows the release where the user left it (three-way)", () => {
    const release = `${tagged.replace("aGVsbG8=", "d29ybGQ=").replace("{x, y}", "{x, z}")}b: 1\n`;
    const result = yaml(`# mine\n${tagged}`, release, "preserve_user", tagged);
    expect(result.text).toBe(`# mine\n${release}`);
    expect(result).toMatchObject({ kept: [], updated: ["bin", "s"], warnings: [] });
  });

  it("a file rebuilt from values keeps their types, not a Buffer's JSON", () => {
    const user = parseYaml(tagged, "app.yaml", "server");
    const text = rebuildFromValues(user.value, user, user);
    const values = parseDocument(text).toJS() as Record<string, unknown>;
    expect(Buffer.from(values.bin as Uint8Array).toString()).toBe("hello");
    expect(values.s).toEqual(new Set(["x", "y"]));
    expect(values.o).toEqual(
      new Map([
        ["k", 1],
        ["j", 2],
      ]),
    );
  });
});

describe("YAML keys that read alike (1 and '1') are one key to the merge: a change it cannot see is named", () => {
  // `1:` and `'1':` are two keys in YAML (an int and a string) but one value key to the merge ("1",
  // the last one's value). A release changing `1:` was neither merged nor reported, exit 0. (`1` and
  // `1.0`, an int and a float, are two keys to the merge as well: yaml-key-spelling.test.ts.)
  const base = "codes:\n  1: one\n  '1': onestring\n  2: two\n";
  const says =
    "keys that read alike in one mapping are one key to the merge, the last one, so changes to the others are neither merged nor reported: codes: 1 (beside '1'); give them distinct names";

  it("a release's change to the hidden key, and the operator's, are named; an untouched file says nothing", () => {
    const released = merge(base, base.replace("1: one", "1: uno"), base);
    expect(released.text).toBe(base);
    expect(released.warnings).toEqual([says]);
    const mine = merge(base.replace("1: one", "1: mine"), base.replace("2: two", "2: deux"), base);
    expect(mine.text).toBe("codes:\n  1: mine\n  '1': onestring\n  2: deux\n");
    expect(mine.updated).toEqual(["codes.2"]);
    expect(mine.warnings).toEqual([says]);
    expect(merge(base, base.replace("2: two", "2: deux"), base).warnings).toEqual([]);
  });

  it("the operator's change already named at the last merge is not named again while their copy is ship's", () => {
    // Every later update merged the operator's copy again (it is not the release's) and named the
    // same hidden key each time, though neither side had changed it since.
    const mine = merge(base.replace("1: one", "1: mine"), base, base);
    expect(mine.warnings).toEqual([says]);
    const again = (incoming: string) =>
      mergeConfigFile({
        format: "yaml",
        fileName: "app.yaml",
        current: mine.text,
        incoming,
        base,
        strategy: "preserve_user",
        currentIsShips: true,
      });
    expect(again(base).warnings).toEqual([]);
    expect(again(base.replace("2: two", "2: deux")).warnings).toEqual([]);
    // The release changing the hidden key is new: named.
    expect(again(base.replace("1: one", "1: uno")).warnings).toEqual([says]);
  });
});

describe("YAML: the release's comments on a key whose value it changes", () => {
  // A release bumping `port` with a new note above it and after it left the old note, now wrong,
  // in the user's file: only the value came.
  const base =
    "# top\nlevel: info\nserver:\n  # listen port\n  port: 80  # default\n  name: x\n  # in GB\n  size: 1\n";
  const incoming =
    "# top, v2\nlevel: debug\nserver:\n  # listen port (8080: no root needed)\n  port: 8080  # was 80\n  name: x\n  size: 2\n";

  it("come where the user left the shipped ones; the user's own stay; a release without one takes none away", () => {
    const shipped = merge(base.replace("name: x", "name: mine"), incoming, base);
    expect(shipped.text).toBe(
      "# top, v2\nlevel: debug\nserver:\n  # listen port (8080: no root needed)\n  port: 8080  # was 80\n  name: mine\n  # in GB\n  size: 2\n",
    );
    expect(shipped.warnings).toEqual([]);
    expect(merge(shipped.text, incoming, incoming).text).toBe(shipped.text);
    const own = merge(
      base.replace("# listen port\n", "# ops: behind the LB\n").replace("# default", "# ops"),
      incoming,
      base,
    );
    expect(own.text).toBe(
      "# top, v2\nlevel: debug\nserver:\n  # ops: behind the LB\n  port: 8080  # ops\n  name: x\n  # in GB\n  size: 2\n",
    );
  });

  it("a shipped comment the user deleted after a value does not come back with the release's value", () => {
    const result = merge(
      "port: 80\nname: mine\n",
      "port: 8080  # web\nname: x\n",
      "port: 80  # web\nname: x\n",
    );
    expect(result.text).toBe("port: 8080\nname: mine\n");
  });
});

describe("YAML: the release's comments on a key it changes inside a list item", () => {
  // A container whose port the release bumps, in a list item holding a comment of the operator's:
  // the release's `# the port (raised for 2.0)` above the port did not come, the shipped `# the
  // port` stayed, now wrong; a shipped comment the operator deleted after a value came back. The
  // release's note after the port comes spaced as the release wrote it.
  const base = "svc:\n  - name: web\n    host: h\n    # the port\n    port: 1\n    size: 1  # GB\n";
  const incoming =
    "svc:\n  - name: web\n    host: h\n    # the port (raised for 2.0)\n    port: 5  # was 1\n    size: 2  # GB\n";

  it("come where the operator left the shipped ones; the operator's own stay, and so do their deletions", () => {
    const current = base.replace("host: h", "host: h  # mine").replace("size: 1  # GB", "size: 1");
    const result = merge(current, incoming, base);
    expect(result.text).toBe(
      "svc:\n  - name: web\n    host: h  # mine\n    # the port (raised for 2.0)\n    port: 5  # was 1\n    size: 2\n",
    );
    expect(result.warnings).toEqual([]);
    const own = merge(current.replace("# the port", "# ops: fixed"), incoming, base);
    expect(own.text).toBe(
      "svc:\n  - name: web\n    host: h  # mine\n    # ops: fixed\n    port: 5  # was 1\n    size: 2\n",
    );
  });
});

describe("YAML: a list the release replaces, holding a comment of the user's", () => {
  it("is named once, as the comment that went, not also as a line that lost its layout", () => {
    const base = "x:\n  - a\n  - c\n  - c\ny: 1\n";
    const incoming = "x:\n  - - - a\n      - c\n    - a\n    - b\n  - - c\ny: 1\n";
    const result = merge(base.replace("- a", "- a  # mine"), incoming, base);
    expect(result.text).toBe(incoming);
    expect(result.warnings).toEqual([
      "x: the release's value replaced yours, and your comments inside it went with it (# mine (line 2))",
    ]);
  });
});

describe("YAML keys that are lists or mappings (`? [a, b]`), and a null key", () => {
  // Their values named them `[ a, b ]` while the document's keys were read as `["a","b"]`: a release
  // changing such a key's value found no key and added a second one, the string "[ a, b ]", beside
  // the old one, which kept its old value (and a null key, `~:`, the same as "null").
  const base = "? [a, b]\n: one   # pair\n? {x: 1}\n: m\n~: nothing\nkeep: 1\n";

  it("are changed, added and removed in place, the rest of the file as it was", () => {
    const incoming = "? [a, b]\n: two\n~: something\nkeep: 1\n? [c]\n: new\n";
    const result = merge(base.replace("keep: 1", "keep: 2"), incoming, base);
    expect(result.text).toBe("? [a, b]\n: two   # pair\n~: something\nkeep: 2\n? [c]\n: new\n");
    expect(result.updated).toEqual(['"[ a, b ]"', '""']);
    expect(result.added).toEqual(['"[ c ]"']);
    expect(result.removed).toEqual(['"{ x: 1 }"']);
    expect(parseDocument(result.text).toJS()).toEqual(
      parseDocument(incoming.replace("keep: 1", "keep: 2")).toJS(),
    );
  });
});

describe("YAML tags the parser does not know (!Ref, !vault) are part of the value", () => {
  // `ref: !Ref MyBucket` and `ref: MyBucket` read as the same string, so a release dropping or
  // adding the tag (a reference becoming a name, for CloudFormation) was no change: the operator's
  // file kept the old tag, exit 0, nothing reported.
  const tagged = "ref: !Ref MyBucket\nx: 1\n";
  const plain = "ref: MyBucket\nx: 1\n";

  it("a release adding or dropping one changes the value; the user's own tag change is kept", () => {
    for (const [from, to] of [
      [tagged, plain],
      [plain, tagged],
    ] as const) {
      const result = merge(from.replace("x: 1", "x: 2"), to, from);
      expect(result.text).toBe(to.replace("x: 1", "x: 2"));
      expect(result.updated).toEqual(["ref"]);
      expect(merge(result.text, to, to).text).toBe(result.text);
    }
    const withAnchor = (t: string) => `d: &d {a: 1}\ne: *d\n${t}`;
    expect(merge(withAnchor(tagged), withAnchor(plain), withAnchor(tagged)).text).toBe(withAnchor(plain));
    const mine = merge("ref: MyBucket\n", "ref: !Ref Other\n", "ref: !Ref MyBucket\n");
    expect(mine.text).toBe("ref: MyBucket\n");
    expect(mine.kept).toEqual(["ref"]);
    expect(
      mergeConfigFile({
        format: "yaml",
        fileName: "a.yaml",
        current: tagged,
        incoming: plain,
        strategy: "replace",
      }).text,
    ).toBe(plain);
  });
});

describe("YAML: a value the release turns into a block mapping or list", () => {
  it("keeps the user's comment after the value on its line, after the key", () => {
    // It went above the key with no WARNING, where it read as a note on the key before; once it
    // went with the value, named in a WARNING.
    const base = "a: 1\nb: 2\n";
    const result = merge("# head\na: 1   # note\nb: 2\n", "b: 2\na:\n  x: 1\n", base);
    expect(result.text).toBe("# head\na:     # note\n  x: 1\nb: 2\n");
    expect(result.warnings).toEqual([]);
    expect(merge("s:\n  a: 1   # note\n", "s:\n  a:\n    - 1\n", "s:\n  a: 1\n").text).toBe(
      "s:\n  a:     # note\n    - 1\n",
    );
    // The previous release's own comment there goes with its value.
    const shipped = "a: 1   # one\nb: 2\n";
    expect(merge(shipped, "a:\n  x: 1\nb: 2\n", shipped).text).toBe("a:\n  x: 1\nb: 2\n");
  });
});

describe("YAML: a key the release inserts under another key's comment", () => {
  // As in TOML: the release's text puts the new key right under the comment that was the next
  // key's (a header glued to the first key, `# the port` over `port`), so the new key came with it,
  // at the end of the mapping, while the user's copy kept it above its key: the file held it twice.
  it("comes without that comment, which stays above its key", () => {
    const base = "# myapp config\nserver:\n  port: 80\n";
    const header = merge(
      "# myapp config\nserver:\n  port: 8080\n",
      "# myapp config\ndebug: false\nserver:\n  port: 80\n",
      base,
    );
    expect(header.text).toBe("# myapp config\nserver:\n  port: 8080\ndebug: false\n");
    const inMapping = merge(
      "s:\n  a: 1\n  # the port\n  port: 8080\n",
      "s:\n  a: 1\n  # the port\n  host: x\n  port: 80\n",
      "s:\n  a: 1\n  # the port\n  port: 80\n",
    );
    expect(inMapping.text).toBe("s:\n  a: 1\n  # the port\n  port: 8080\n  host: x\n");
    const noBase = merge("# the port\nport: 8080\n", "# the port\nhost: x\nport: 80\n");
    expect(noBase.text).toBe("# the port\nport: 8080\nhost: x\n");
    expect([...header.warnings, ...inMapping.warnings, ...noBase.warnings]).toEqual([]);
  });

  it("a comment the release moved with a renamed key, or wrote for the new key, still comes", () => {
    const renamed = merge("# the db\ndb: a\n", "# the db\ndatabase: a\n", "# the db\ndb: a\n");
    expect(renamed.text).toBe("# the db\ndatabase: a\n");
    const own = merge(
      "# the port\nport: 8080\n",
      "# the port\nport: 80\n# the host\nhost: x\n",
      "# the port\nport: 80\n",
    );
    expect(own.text).toBe("# the port\nport: 8080\n# the host\nhost: x\n");
  });
});

describe("YAML: a key the release removes from under a comment it keeps above the next key", () => {
  it("the comment stays, above the key that followed, at the top and inside a mapping", () => {
    const top = merge(
      "# myapp config\ndebug: false\nport: 8080\n",
      "# myapp config\nport: 80\n",
      "# myapp config\ndebug: false\nport: 80\n",
    );
    expect(top.text).toBe("# myapp config\nport: 8080\n");
    const inMapping = merge(
      "s:\n  # the first\n  old: 1\n  port: 8080\n",
      "s:\n  # the first\n  port: 80\n",
      "s:\n  # the first\n  old: 1\n  port: 80\n",
    );
    expect(inMapping.text).toBe("s:\n  # the first\n  port: 8080\n");
    const middle = merge(
      "a: 1\n# ports\nold: 1\nport: 8080\n",
      "a: 1\n# ports\nport: 80\n",
      "a: 1\n# ports\nold: 1\nport: 80\n",
    );
    expect(middle.text).toBe("a: 1\n# ports\nport: 8080\n");
    expect([...top.warnings, ...inMapping.warnings, ...middle.warnings]).toEqual([]);
  });

  it("a comment the release drops with the key still goes", () => {
    const result = merge(
      "# debug mode\ndebug: false\nport: 8080\n",
      "port: 80\n",
      "# debug mode\ndebug: false\nport: 80\n",
    );
    expect(result.text).toBe("port: 8080\n");
  });
});

// A file that is one flow mapping written over lines (`{`, a member per line, `}`) whose release
// dropped a member came back on one line with no warning: its first line was read as the dropped
// member's (`{ a:`), so every line of it counted as removed with that key. It is named as a mapping
// nested under a key always was.
describe("a YAML file that is one flow mapping over lines", () => {
  it("says its lines lost their layout when the merge writes it on one line", () => {
    const result = merge("{\n  a: 1,\n  b: 2,\n  c: 1\n}\n", "{b: 1, c: 1}\n", "{a: 1, b: 1, c: 1}\n");
    expect(result.text).toBe("{b: 2, c: 1}\n");
    expect(result.removed).toEqual(["a"]);
    expect(result.warnings).toEqual([
      "lines 1 (`{`), 2 (`a: 1,`), 3 (`b: 2,`) and 2 more lost their layout (spacing, quoting, line breaks, comment position), because the merge changed them: rewritten in the merge's own layout",
    ]);
  });

  // With a comment of the user's inside, its `{` line was read as the merged `{b: 2}` line and the
  // lines under it as removed with `a`: only the comment was named.
  it("with a comment inside, names the lines folded into the first one", () => {
    const result = merge("{\n  a: 1,  # one\n  b: 2\n}\n", "{b: 1}\n", "{a: 1, b: 1}\n");
    expect(result.text).toBe("{b: 2}\n");
    expect(result.warnings).toEqual([
      "lines 1 (`{`), 2 (`a: 1,  # one`), 3 (`b: 2`) and 1 more lost their layout (spacing, quoting, line breaks, comment position), because the merge changed them: rewritten in the merge's own layout",
      "your comments went with the keys the merge removed (a): # one (line 2)",
    ]);
  });
});
