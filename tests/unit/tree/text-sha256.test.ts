import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../../agent/tree/text-sha256.js";

const nodeSha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("sha256Hex: the names ship derives from paths, without loading node:crypto", () => {
  it("is SHA-256: the standard test vectors", () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("gives node:crypto's digest for every length across block boundaries, and for UTF-8 text", () => {
    for (let length = 0; length <= 300; length++) {
      const text = Array.from({ length }, (_, i) => String.fromCharCode(33 + ((i * 7 + length) % 90))).join(
        "",
      );
      expect(sha256Hex(text), `length ${length}`).toBe(nodeSha256(text));
    }
    for (const text of ["/srv/appé", "/opt/日本/app", "/home/ü/😀/app", "/".repeat(1000)])
      expect(sha256Hex(text), text).toBe(nodeSha256(text));
  });
});
