/** A config's bytes are UTF-8 text, or the merge refuses them naming where they are not. */
import { describe, expect, it } from "vitest";
import { decodeConfigText } from "../../../agent/merge/config-text.js";

/** The merge rule that took the file: named only when the file is binary. */
const RULE = { rel: "config.yaml", pattern: "*.yaml", action: "merge_yaml" };

const refusal = (bytes: Buffer): string => {
  try {
    decodeConfigText(bytes, "config.yaml", "server", RULE);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return "accepted";
};

describe("decodeConfigText", () => {
  it("takes UTF-8 text as it is, a byte-order mark and a real U+FFFD included", () => {
    const text = "\uFEFFname: café � 𝄞\n";
    expect(decodeConfigText(Buffer.from(text, "utf8"), "config.yaml", "server", RULE)).toBe(text);
  });

  it("names the first byte that is not UTF-8 by line and column, counted in characters", () => {
    const bytes = Buffer.concat([Buffer.from('a: 1\nnom: "ü'), Buffer.from([0xe9]), Buffer.from('"\n')]);
    expect(refusal(bytes)).toMatch(
      /^config\.yaml:2:8 cannot merge: the server's copy does not parse: byte 0xE9 is not UTF-8/,
    );
  });

  it("a byte-order mark is not a column; a sequence cut short at the end is named", () => {
    expect(refusal(Buffer.concat([Buffer.from("\uFEFFk: "), Buffer.from([0xe9])]))).toMatch(
      /^config\.yaml:1:4 /,
    );
    expect(refusal(Buffer.concat([Buffer.from("k: v"), Buffer.from([0xc3])]))).toMatch(
      /^config\.yaml:1:5 .*byte 0xC3/,
    );
  });

  it("UTF-16, with its byte-order mark or without (a NUL byte), is named as such", () => {
    expect(refusal(Buffer.from([0xfe, 0xff, 0x00, 0x61]))).toMatch(
      /^config\.yaml:1:1 .*UTF-16 text \(byte-order mark 0xFE 0xFF\)/,
    );
    expect(refusal(Buffer.from("\uFEFFab\0", "utf8"))).toMatch(/^config\.yaml:1:3 .*NUL byte/);
  });
});
