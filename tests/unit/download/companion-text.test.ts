/**
 * A checksum file as its writer saved it: UTF-8 (with or without a byte-order mark), or UTF-16 in
 * either byte order with its mark (Windows PowerShell 5.1's `>` and Out-File write UTF-16LE).
 * Each reads to the same sha256 for the same release; UTF-16 without its mark stays the NULs it is.
 */
import { describe, expect, it } from "vitest";
import { findSha256 } from "../../../agent/sources/checksum.js";
import { companionText } from "../../../shared/companion-text.js";

const hex = "ab".repeat(32);
const line = `${hex}  app.tar.gz\r\n`;
const utf16be = (text: string) => Buffer.from(text, "utf16le").swap16();

describe("a checksum file's text", () => {
  it("is the same sha256 line whichever Unicode form with a byte-order mark it was saved in", () => {
    for (const [form, bytes] of [
      ["UTF-8", Buffer.from(line)],
      ["UTF-8 with BOM", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(line)])],
      ["UTF-16LE with BOM", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(line, "utf16le")])],
      ["UTF-16BE with BOM", Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(line)])],
    ] as const) {
      expect(findSha256(companionText(bytes), "app.tar.gz", "SHA256SUMS"), form).toEqual({ sha256: hex });
    }
  });

  it("reads UTF-16 without its byte-order mark as the bytes it is (a binary file, refused as such)", () => {
    expect(() => findSha256(companionText(Buffer.from(line, "utf16le")), "app.tar.gz", "SHA256SUMS")).toThrow(
      /binary file/,
    );
  });
});
