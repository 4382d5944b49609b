import { describe, expect, it } from "vitest";
import { progressReporter, renderBar } from "../../../agent/download/progress.js";
import { redactUrl } from "../../../agent/download/redact.js";
import { backoffMs, isRetryableError, isRetryableStatus } from "../../../agent/download/retry.js";
import { parseChecksumSpec, pinnedSha256, sha256SumFor } from "../../../agent/sources/checksum.js";
import { VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";

const HEX = "a".repeat(64);

describe("retry classifier", () => {
  it("retries 5xx, 408 and 429 but no other 4xx", () => {
    expect([500, 502, 503, 504, 408, 429].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 410, 416].some(isRetryableStatus)).toBe(false);
  });

  it("retries network errors and timeouts, not TLS failures or aborts", () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    expect(isRetryableError(coded("ECONNRESET"))).toBe(true);
    expect(isRetryableError(coded("UND_ERR_BODY_TIMEOUT"))).toBe(true);
    expect(isRetryableError(new Error("wrapped", { cause: coded("ECONNREFUSED") }))).toBe(true);
    expect(isRetryableError(coded("UNABLE_TO_VERIFY_LEAF_SIGNATURE"))).toBe(false);
    expect(isRetryableError(Object.assign(new Error("x"), { name: "AbortError", code: "ECONNRESET" }))).toBe(
      false,
    );
  });

  it("backs off exponentially with a cap, and not at all with a zero base", () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 100))).toEqual([100, 200, 400, 800]);
    expect(backoffMs(30, 100, 5000)).toBe(5000);
    expect(backoffMs(5, 0)).toBe(0);
  });
});

describe("redactUrl", () => {
  it("hides credentials and query values", () => {
    const shown = redactUrl("https://user:pw@example.com/a.tgz?X-Amz-Signature=abc&x=1");
    expect(shown).not.toContain("pw");
    expect(shown).not.toContain("abc");
    expect(shown).toContain("example.com/a.tgz");
  });
});

describe("checksum specs", () => {
  it("parses inline sha256 and checksum-file locations", () => {
    expect(parseChecksumSpec(`sha256:${HEX.toUpperCase()}`, "w")).toEqual({ kind: "inline", sha256: HEX });
    // The algorithm's name in capitals, as `sha256sum --tag` writes it, was "not a checksum or URL".
    expect(parseChecksumSpec(`SHA256:${HEX}`, "w")).toEqual({ kind: "inline", sha256: HEX });
    expect(pinnedSha256(` Sha256:${HEX.toUpperCase()}`)).toBe(HEX);
    expect(parseChecksumSpec("https://h/x.sha256", "w")).toEqual({
      kind: "file",
      location: "https://h/x.sha256",
    });
    expect(() => parseChecksumSpec("sha256:abc", "w")).toThrow(VerificationError);
    expect(() => parseChecksumSpec("md5:abc", "w")).toThrow(/sha256/);
  });

  it("takes the 64 hex digits alone, as sha256sum and Get-FileHash print them", () => {
    expect(parseChecksumSpec(HEX, "w")).toEqual({ kind: "inline", sha256: HEX });
    expect(parseChecksumSpec(` ${HEX.toUpperCase()} `, "w")).toEqual({ kind: "inline", sha256: HEX });
    expect(pinnedSha256(HEX.toUpperCase())).toBe(HEX);
    // Fewer digits is no sha256, prefixed or not.
    expect(() => parseChecksumSpec(HEX.slice(1), "w")).toThrow(VerificationError);
  });

  it("reads sha256sum output by file name, or a lone hash", () => {
    const b = "b".repeat(64);
    expect(sha256SumFor(`${HEX}  other.tgz\n${b} *dist/app.tgz\n`, "app.tgz", "f").sha256).toBe(b);
    expect(sha256SumFor(`${HEX}\n`, "anything", "f").sha256).toBe(HEX);
    expect(() => sha256SumFor(`${HEX}  a\n${b}  b\n`, "c", "f")).toThrow(/no sha256 for c/);
    // A login or error page served where the .sha256 should be is said to be one (17991a1).
    expect(() => sha256SumFor("<html>", "c", "f")).toThrow(/is an HTML or XML page .*not a sha256sum file/);
    expect(() => sha256SumFor("hello world\n", "c", "f")).toThrow(/not a sha256sum line/);
  });

  it("reads openssl dgst's and any-case --tag lines, and names another algorithm's", () => {
    // `openssl dgst -sha256 app.tgz > app.tgz.sha256` was refused "not a sha256sum line".
    const b = "B".repeat(64);
    expect(sha256SumFor(`SHA2-256(app.tgz)= ${b}\n`, "app.tgz", "f").sha256).toBe("b".repeat(64));
    expect(sha256SumFor(`SHA256(other.tgz)= ${HEX}\nSHA256(app.tgz)= ${b}\n`, "app.tgz", "f").sha256).toBe(
      "b".repeat(64),
    );
    expect(sha256SumFor(`sha256 (app.tgz) = ${HEX}\n`, "app.tgz", "f").sha256).toBe(HEX);
    expect(() => sha256SumFor(`SHA512 (app.tgz) = ${"c".repeat(128)}\n`, "app.tgz", "f")).toThrow(
      /f: a checksum made with SHA512, not sha256 \(ship verifies sha256\)/,
    );
    expect(() => sha256SumFor(`MD5(app.tgz)= ${"c".repeat(32)}\n`, "app.tgz", "f")).toThrow(
      /f: a checksum made with MD5, not sha256/,
    );
    expect(() => sha256SumFor(`SHA256(app.tgz)= ${"c".repeat(63)}\n`, "app.tgz", "f")).toThrow(
      /f: not a sha256sum line/,
    );
  });

  it("a binary file is said to be one, none of its bytes quoted; a Latin-1 name on a good line is text", () => {
    const b = "b".repeat(64);
    // A SHA256SUMS.gz as stored: 1f 8b decoded as UTF-8.
    expect(() => sha256SumFor("\u001f\ufffd\b\u0000\u0000\ufffd", "c", "f")).toThrow(
      /^f: is gzip-compressed \(a \.gz, or the release archive itself\?\), not a sha256sum file: name the uncompressed file$/,
    );
    // A zip, an xz, a NUL anywhere: no bytes of them in the message.
    for (const text of ["PK\u0003\u0004\u0014\u0000", "\ufffd7zXZ\u0000\u0000", `${HEX}  a\n\u0000\u0001\n`])
      expect(() => sha256SumFor(text, "c", "f")).toThrow(
        /^f: is a binary file \(the release archive itself\?\), not a sha256sum file$/,
      );
    // A bad line that is text is still quoted, whatever a good line's name holds.
    expect(() => sha256SumFor(`${HEX}  caf\ufffd.tgz\nhello\n`, "c", "f")).toThrow(
      /f: not a sha256sum line: hello/,
    );
    expect(sha256SumFor(`${HEX}  caf\ufffd.tgz\n${b}  app.tgz\n`, "app.tgz", "f").sha256).toBe(b);
  });
});

describe("progress", () => {
  it("renders a bar with percent and sizes", () => {
    const bar = renderBar("app.tgz", 512 * 1024, 1024 * 1024, 80);
    expect(bar).toContain("50%");
    expect(bar).toContain("512.0 KiB/1.0 MiB");
    expect(bar).toMatch(/\[#+-+\]/);
  });

  it("logs periodic lines instead of a bar when not on a TTY", () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    let now = 0;
    const stream = { isTTY: false } as NodeJS.WriteStream;
    const report = progressReporter({
      label: "x",
      log: memoryLogger(lines),
      stream,
      logIntervalMs: 1000,
      now: () => now,
    });
    report(10, 100);
    now = 500;
    report(20, 100);
    now = 1500;
    report(50, 100);
    report(100, 100);
    expect(lines.map((l) => l.data?.percent)).toEqual([50, 100]);
  });
});
