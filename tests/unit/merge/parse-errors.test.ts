import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import { BadInputError } from "../../../shared/errors.js";

function failure(run: () => unknown): BadInputError {
  try {
    run();
  } catch (error) {
    if (error instanceof BadInputError) return error;
    throw error;
  }
  throw new Error("expected a BadInputError");
}

describe("malformed inputs give positioned errors", () => {
  it.each([
    { format: "json", text: '{\n  "a": 1,\n  b: 2\n}\n', line: 3, column: 3 },
    { format: "json", text: "[1,\n", line: 2, column: 1 },
    { format: "toml", text: "a = 1\n[server]\nport = = 3\n", line: 3, column: 8 },
    { format: "toml", text: "a = 1\na = 2\n", line: 2, column: 1 },
    { format: "yaml", text: "a: 1\nb: [1, 2\nc: 3\n", line: 3 },
    { format: "yaml", text: "a: 1\na: 2\n", line: 2, column: 1 },
    { format: "yaml", text: "a: 1\n---\nb: 2\n", line: 2, column: 1 },
  ] as const)("$format: line $line", ({ format, text, line, column }) => {
    const error = failure(() =>
      mergeConfigFile({
        format,
        fileName: "conf/app.x",
        current: text,
        incoming: format === "toml" ? "x = 1" : "{}",
        strategy: "update_only",
      }),
    );
    expect(error.exitCode).toBe(2);
    const issue = error.issues[0];
    expect(issue?.file).toBe("conf/app.x");
    expect(issue?.line).toBe(line);
    if (column !== undefined) expect(issue?.column).toBe(column);
    expect(issue?.message).toMatch(/^cannot merge: the server's copy does not parse: \S/);
    // One line, in the operator's terms: no repeated position, no library API to call.
    expect(issue?.message).not.toMatch(/\n|at line \d|parseAllDocuments/);
    expect(error.message).toContain(`conf/app.x:${line}:`);
  });

  it("says a YAML file with two documents is what it is; an empty JSON release copy is no parse error", () => {
    const run = (format: "yaml" | "json", current: string, incoming = "{}") =>
      failure(() => mergeConfigFile({ format, fileName: "a", current, incoming, strategy: "update_only" }))
        .issues[0]?.message;
    expect(run("yaml", "a: 1\n---\nb: 2\n")).toBe(
      "cannot merge: the server's copy does not parse: it holds more than one YAML document (a second `---`); a merge needs exactly one",
    );
    // A blank copy of the operator's is merged as a new copy (three-way.test.ts); a blank release
    // copy leaves the operator's as it is, as in TOML and YAML (keyless-release.ts), where it was
    // refused as not JSON.
    const kept = mergeConfigFile({
      format: "json",
      fileName: "a",
      current: '{"a": 1}',
      incoming: "\n",
      strategy: "update_only",
    });
    expect(kept.text).toBe('{"a": 1}');
    expect(kept.warnings).toEqual([
      expect.stringMatching(/^the release's copy holds no keys \(only white space\)/),
    ]);
  });

  it("JSON: a comment, a trailing comma or an unexpected token is placed and named, never quoting the file", () => {
    const run = (current: string) => {
      const error = failure(() =>
        mergeConfigFile({
          format: "json",
          fileName: "a.json",
          current,
          incoming: "{}",
          strategy: "update_only",
        }),
      );
      const issue = error.issues[0];
      return `${issue?.line}:${issue?.column} ${issue?.message.replace("cannot merge: the server's copy does not parse: ", "")}`;
    };
    expect(run('{\n  // the port\n  "port": 80\n}\n')).toBe(
      "2:3 a comment, which JSON does not allow (remove it)",
    );
    expect(run('{"a": 1 /* one */}')).toBe("1:9 a comment, which JSON does not allow (remove it)");
    expect(run('{\n  "a": 1,\n}\n')).toBe(
      "3:1 a comma before the closing bracket, which JSON does not allow (remove it)",
    );
    // V8 gives no position here and quotes the text around it (a password, say).
    expect(run('{"password": "hunter2", "a": [1, 2,]}')).toBe(
      "1:36 a comma before the closing bracket, which JSON does not allow (remove it)",
    );
    expect(run('{"password": "hunter2", "on": tru}')).toBe('1:31 unexpected "t"');
    expect(run('{"password": "hunter2"} x')).toBe("1:25 Unexpected non-whitespace character after JSON");
  });

  it("names which copy failed: the release's or the previous release's", () => {
    const release = failure(() =>
      mergeConfigFile({
        format: "json",
        fileName: "a.json",
        current: "{}",
        incoming: "{,}",
        strategy: "replace",
      }),
    );
    expect(release.issues[0]?.message).toMatch(/the release's copy/);
    const base = failure(() =>
      mergeConfigFile({
        format: "yaml",
        fileName: "a.yaml",
        current: "a: 1\n",
        incoming: "a: 2\n",
        base: "a: [\n",
        strategy: "preserve_user",
      }),
    );
    expect(base.issues[0]?.message).toMatch(/the previous release's copy/);
  });

  it("TOML: a key or table defined twice is named, without the parser's own prefix", () => {
    const run = (current: string) => {
      const issue = failure(() =>
        mergeConfigFile({
          format: "toml",
          fileName: "a.toml",
          current,
          incoming: "x = 1",
          strategy: "update_only",
        }),
      ).issues[0];
      return `${issue?.line}:${issue?.column} ${issue?.message.replace("cannot merge: the server's copy does not parse: ", "")}`;
    };
    const rule = "TOML defines each key and table once, dotted keys and [table] headers alike";
    // Where the first one is, as JSON and YAML say it, when it was written the same way.
    const twice = (also?: string) =>
      `is defined twice (${also === undefined ? "" : `also ${also}; `}${rule}); remove one or merge them`;
    expect(run("port = 1\nhost = 'a'\nport = 2\n")).toBe(`3:1 the key port ${twice("on line 1")}`);
    expect(run("[db]\nhost = 'a'\n\n[db]\nport = 1\n")).toBe(`4:2 the table [db] ${twice("on line 1")}`);
    expect(run("db.host = 'a'\n[db]\nport = 1\n")).toBe(`2:2 the table [db] ${twice()}`);
    expect(run('"a.b" = 1\n"a.b" = 2\n')).toBe(`2:1 the key "a.b" ${twice("on line 1")}`);
    // In an inline table the repeated key is named, not the line's first key (written once).
    expect(run("a = {x = 1, x = 2}\n")).toBe(
      `1:13 the key x in an inline table ${twice("at column 6 of that line")}`,
    );
    expect(run("t = {u = {p = 1, p = 2}}\n")).toBe(
      `1:18 the key p in an inline table ${twice("at column 11 of that line")}`,
    );
    expect(run("[t]\n  x = 1\n  y = 0\n  x = 2\n")).toBe(`4:3 the key x ${twice("on line 2")}`);
    // A table or key going inside a value (an inline table, a number) is defined nowhere else: it
    // read "defined twice", pointing at no other definition.
    const inside = (name: string, line: number) =>
      `goes inside ${name}, which line ${line} sets to a value (an inline table is whole as written, and TOML adds nothing to a value): write it there, or write ${name} as a [table]`;
    expect(run("[s]\nt = {u = 1}\n[s.t.x]\nw = 1\n")).toBe(`3:2 the table [s.t.x] ${inside("s.t", 2)}`);
    expect(run("[s]\nt = {u = 1}\nt.v = 2\n")).toBe(`3:1 the key t.v ${inside("s.t", 2)}`);
    expect(run("a.b = 1\n\n[a.b.c]\nx = 1\n")).toBe(`3:2 the table [a.b.c] ${inside("a.b", 1)}`);
    // Other errors keep the parser's words, without "Invalid TOML document:".
    expect(run("a = \n")).toBe("1:5 invalid value");
  });
});

// smol-toml calls a string left open on its line "control characters are not allowed in strings",
// pointing at the line's end: an operator looked for an invisible character that was not there.
describe("a TOML string left open, or holding a control character", () => {
  const said = (incoming: string) =>
    failure(() =>
      mergeConfigFile({
        format: "toml",
        fileName: "config.toml",
        current: "a = 1\n",
        incoming,
        strategy: "preserve_user",
      }),
    ).issues.map((issue) => `${issue.line}:${issue.column} ${issue.message}`);
  const open = `cannot merge: the release's copy does not parse: a string is not closed on its line (a quote is missing before the line ends; only a """ or ''' string goes over lines)`;

  it.each([
    ["a basic string", 'a = "x\nb = 1\n', `1:7 ${open}`],
    ["a literal string, CRLF", "b = 1\r\na = 'x\r\n", `2:7 ${open}`],
    ["in an array", 'a = ["x\n]\n', `1:8 ${open}`],
  ])("%s is named as a string not closed on its line", (_name, incoming, expected) => {
    expect(said(incoming)).toEqual([expected]);
  });

  it("a control character is named by its code", () => {
    expect(said('a = "x\u0001"\n')).toEqual([
      `1:7 cannot merge: the release's copy does not parse: the control character U+0001 in a string, which TOML does not allow (in a "…" string write it as \\u0001)`,
    ]);
  });
});

// V8 said "Bad control character in string literal" at a NUL byte, "Expected double-quoted property
// name" at a no-break space, and smol-toml "illegal character in key": each at a line that reads
// as valid, so the operator could not see what to remove.
describe("a character that shows as nothing is named by its code", () => {
  const said = (format: "json" | "toml", current: string) =>
    failure(() =>
      mergeConfigFile({ format, fileName: "app.conf", current, incoming: "", strategy: "preserve_user" }),
    ).issues.map((issue) => `${issue.line}:${issue.column} ${issue.message}`);
  const says = "cannot merge: the server's copy does not parse:";

  it.each([
    [
      "json",
      '{\n  "a": 1,\n  "b": "x\0y"\n}\n',
      `3:10 ${says} a NUL byte (U+0000) in a string, which JSON does not allow (write it as \\u0000)`,
    ],
    [
      "json",
      '{\n  "a": 1,\n  "b": "x\u001by"\n}\n',
      `3:10 ${says} the control character U+001B in a string, which JSON does not allow (write it as \\u001B)`,
    ],
    [
      "json",
      '{\n  "a": 1,\n  \0"b": 2\n}\n',
      `3:3 ${says} a NUL byte (U+0000), which JSON does not allow outside a string (remove it)`,
    ],
    [
      "json",
      '{\n  "a": 1,\n  "b": 2\u00a0\n}\n',
      `3:9 ${says} the invisible character U+00A0, which JSON does not allow outside a string (remove it)`,
    ],
    [
      "json",
      '{\n  "a": 1,\n\u200b  "b": 2\n}\n',
      `3:1 ${says} the invisible character U+200B, which JSON does not allow outside a string (remove it)`,
    ],
    [
      "toml",
      'a = 1\nb = "x\0y"\n',
      `2:7 ${says} a NUL byte (U+0000) in a string, which TOML does not allow (in a "…" string write it as \\u0000)`,
    ],
    [
      "toml",
      "a = 1\n\0b = 2\n",
      `2:1 ${says} a NUL byte (U+0000), which TOML does not allow outside a string (remove it)`,
    ],
    [
      "toml",
      "a = 1\n\ufeffb = 2\n",
      `2:1 ${says} the invisible character U+FEFF, which TOML does not allow outside a string (remove it)`,
    ],
  ] as const)("%s: %j", (format, current, expected) => {
    expect(said(format, current)).toEqual([expected]);
  });
});
