/**
 * Through the real CLI: an operator's YAML mapping or list written on one line (`db: {host: a}  # c`,
 * `hosts: [a, b]  # c`) that the release writes in block lines (`db:  # c`, then its keys) keeps its
 * one line, its comment after it written once. The release's comment on its key's line was read as
 * one above the first key: copied into the braces, it spread them over lines and came twice
 * (`# c` inside, `} # c` after); a list came as block lines with it on a line of its own. At any
 * depth, and for the release's notes on the keys it adds or changes there, which a one-line
 * collection has no line for.
 */
import { describe, expect, it } from "vitest";
import { updateMergedFilesOnce } from "./local-app.js";

const cases = [
  {
    what: "a mapping on one line, the release adding a nested mapping under block lines",
    v1: "x: 0\ndb: {host: a, port: 1}  # ops: primary\n",
    edited: "x: 1\ndb: {host: a, port: 1}  # ops: primary\n",
    v2: "x: 0\ndb:  # ops: primary\n  host: b\n  port: 2\n  pool:\n    size: 5\n",
    merged: "x: 1\ndb: {host: b, port: 2, pool: {size: 5}}  # ops: primary\n",
  },
  {
    what: "the same two levels down",
    v1: "app:\n  x: 0\n  db: {host: a, port: 1}  # ops: primary\n",
    edited: "app:\n  x: 1\n  db: {host: a, port: 1}  # ops: primary\n",
    v2: "app:\n  x: 0\n  db:  # ops: primary\n    host: b\n    port: 2\n    pool:\n      size: 5\n",
    merged: "app:\n  x: 1\n  db: {host: b, port: 2, pool: {size: 5}}  # ops: primary\n",
  },
  {
    what: "a mapping in a list item",
    v1: "x: 0\nnodes:\n  - db: {host: a}  # ops: primary\n",
    edited: "x: 1\nnodes:\n  - db: {host: a}  # ops: primary\n",
    v2: "x: 0\nnodes:\n  - db:  # ops: primary\n      host: b\n      pool: {size: 5}\n",
    merged: "x: 1\nnodes:\n  - db: {host: b, pool: {size: 5}}  # ops: primary\n",
  },
  {
    what: "a list on one line",
    v1: "x: 0\nhosts: [a, b]  # ops: which hosts\n",
    edited: "x: 1\nhosts: [a, b]  # ops: which hosts\n",
    v2: "x: 0\nhosts:  # ops: which hosts\n  - a\n  - c\n",
    merged: "x: 1\nhosts: [a, c]  # ops: which hosts\n",
  },
  {
    what: "a list on one line inside a mapping on one line",
    v1: "x: 0\ndb: {hosts: [a, b], port: 1}  # ops: primary\n",
    edited: "x: 1\ndb: {hosts: [a, b], port: 1}  # ops: primary\n",
    v2: "x: 0\ndb:  # ops: primary\n  hosts:\n    - a\n    - c\n  port: 1\n",
    merged: "x: 1\ndb: {hosts: [a, c], port: 1}  # ops: primary\n",
  },
  {
    what: "the release's notes above and after keys it changes and adds there",
    v1: "x: 0\ndb: {host: a, port: 1}  # ops: primary\n",
    edited: "x: 1\ndb: {host: a, port: 1}  # ops: primary\n",
    v2: "x: 0\ndb:  # ops: primary\n  # the host\n  host: b\n  port: 1  # the port\n  # new in 2.0\n  pool: 5  # its size\n",
    merged: "x: 1\ndb: {host: b, port: 1, pool: 5}  # ops: primary\n",
  },
].map((story) => ({ ...story, action: "merge_yaml", file: "config.yaml" }));

describe("a YAML collection on one line that the release writes in block lines", () => {
  const merged = updateMergedFilesOnce(cases);

  for (const [i, { what, merged: expected }] of cases.entries()) {
    it(`${what}: stays on its line, its comment once`, async () => {
      const { run, read } = await merged();
      expect(run.code, run.stderr).toBe(0);
      expect(await read(i)).toBe(expected);
    });
  }
});
