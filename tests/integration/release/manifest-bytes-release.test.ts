/**
 * `ship release http` and `git` promise to report a manifest that does not parse as `ship
 * --test-manifest` does: exit 2, nothing built, committed or tagged. Three kinds still get through:
 * - a byte that is not UTF-8 (a comment saved as Latin-1, "# café"): --test-manifest is exit 2
 *   "holds a byte that is not UTF-8 … save it as UTF-8", but release built the archive and git
 *   committed and tagged it, exit 0, with the byte rewritten to U+FFFD in the author's manifest;
 * - a NUL byte: --test-manifest "is not UTF-8 text (a binary file?)", release exit 0, tagged;
 * - an alias with no anchor (`a: *x`): --test-manifest exit 2, release "internal error: Unresolved
 *   alias …", exit 1;
 * - a list where the mapping goes, or UTF-16 text: both exit 2, but release says only "the
 *   manifest must be a mapping of keys" (no line:column; for UTF-16 not that it is UTF-16, which
 *   --test-manifest says with the way out: "save it as UTF-8").
 * Real git repositories, real `ship` runs.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { manifestRepo, signingKeyForBlock, unreachableHub } from "./manifest-release-repo.js";

const BROKEN: [string, Buffer][] = [
  ["a comment saved as Latin-1", Buffer.from('version: "0.1.0"\n# r\xe9sum\xe9 of the release\n', "latin1")],
  ["a NUL byte", Buffer.from('version: "0.1.0"\n# a\u0000b\n', "utf8")],
  ["a list, not a mapping", Buffer.from("- version: 0.1.0\n", "utf8")],
  ["UTF-16 text", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('version: "0.1.0"\n', "utf16le")])],
  ["an alias with no anchor", Buffer.from('version: "0.1.0"\nfiles:\n  "a.toml": *rule\n', "utf8")],
  // Neighbours of the same kinds: text where the mapping goes, big-endian UTF-16, an alias above
  // its anchor (yaml resolves aliases only backwards).
  ["a string, not a mapping", Buffer.from("just a note\n", "utf8")],
  [
    "UTF-16 big-endian text",
    Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('version: "0.1.0"\n', "utf16le").swap16()]),
  ],
  ["an alias above its anchor", Buffer.from('version: "0.1.0"\na: *later\nx-b: &later 1\n', "utf8")],
];

describe.skipIf(!hasProgram("git"))("ship release: a manifest --test-manifest refuses", () => {
  const repo = manifestRepo("ship-release-bytes-");
  const signing = signingKeyForBlock("ship-release-bytes-keys-");

  it.each(BROKEN)(
    "with %s is refused by release http and git as --test-manifest refuses it",
    async (_what, bytes) => {
      const { file, head } = await repo.commit(bytes);
      const checked = await runShip(["--test-manifest", file]);
      expect(checked.code).toBe(2);
      const said = checked.stderr.replace(/^ship: /, "");
      await repo.expectRefusedByHttpAndGit(said, head);

      // sign and publish take the manifest from --manifest (or publish from -C's directory): it was
      // read as UTF-8 regardless, and a Latin-1 byte signed and sent to the hub as U+FFFD.
      const { dir } = repo;
      const { key } = signing;
      const sig = join(dir, "r.sig");
      const signed = await runShip([
        "release",
        "sign",
        "--git-commit",
        head,
        "--manifest",
        file,
        "--key",
        key,
        "--out",
        sig,
      ]);
      expect(signed.stderr).toBe(`ship release sign: ${said}`);
      expect(signed.code).toBe(2);
      expect(existsSync(sig)).toBe(false);

      const hub = await unreachableHub(dir);
      // The hub parses what publish sends (and refuses it there): only the bytes are publish's to read.
      if (!/UTF-8|binary/.test(said)) return;
      for (const manifest of [["--manifest", file], []]) {
        const published = await runShip([
          "release",
          "-C",
          repo.repo,
          "publish",
          ...hub,
          "--git-commit",
          head,
          ...manifest,
        ]);
        expect(published.stderr).toBe(`ship release publish: ${said}`);
        expect(published.code).toBe(2);
      }
    },
  );
});
