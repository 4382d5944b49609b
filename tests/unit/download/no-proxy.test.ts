/**
 * no_proxy read as curl reads it (curl, git and apt share the variable with ship on one host).
 * undici's reading matched names as suffixes only: CIDR ranges and `::1` never matched, and
 * `.0.0.1` matched 127.0.0.1.
 */
import { describe, expect, it } from "vitest";
import { bypassesProxy } from "../../../agent/download/no-proxy.js";

const direct = (url: string, noProxy: string) => bypassesProxy(new URL(url), noProxy);

describe("bypassesProxy", () => {
  it("names: the host and its subdomains, with or without a leading dot or `*.`, any case", () => {
    for (const entry of [
      "corp.example",
      ".corp.example",
      "*.corp.example",
      "CORP.example.",
      "a,corp.example",
    ]) {
      expect(direct("https://rel.corp.example/x", entry), entry).toBe(true);
      expect(direct("https://corp.example./x", entry), entry).toBe(true);
      expect(direct("https://notcorp.example/x", entry), entry).toBe(false);
    }
    expect(direct("https://corp.example/x", "")).toBe(false);
  });

  it("`*` alone or as one entry: every host", () => {
    expect(direct("https://anything.example/x", "*")).toBe(true);
    expect(direct("http://10.1.2.3/x", "localhost, *")).toBe(true);
  });

  it("IPv4: the address or a CIDR range, never a name suffix", () => {
    expect(direct("https://127.0.0.1:8443/x", "127.0.0.1")).toBe(true);
    expect(direct("https://10.20.30.40/x", "192.168.0.0/16,10.0.0.0/8")).toBe(true);
    expect(direct("https://11.0.0.1/x", "10.0.0.0/8")).toBe(false);
    expect(direct("https://127.0.0.1/x", ".0.0.1")).toBe(false);
    expect(direct("https://127.0.0.1/x", "0.0.1")).toBe(false);
    expect(direct("https://10.0.0.1/x", "10.0.0.0/40")).toBe(false);
  });

  it("IPv6: `::1` and `[::1]` alike, any spelling of the address, CIDR ranges", () => {
    for (const entry of ["::1", "[::1]", "0:0:0:0:0:0:0:1", "::/64"])
      expect(direct("https://[::1]:8443/x", entry), entry).toBe(true);
    expect(direct("https://[fd00::5]/x", "fd00::/8")).toBe(true);
    expect(direct("https://[fe80::5]/x", "fd00::/8")).toBe(false);
  });

  it("host:port: that port only (the scheme's port when the URL has none)", () => {
    expect(direct("https://rel.example/x", "rel.example:443")).toBe(true);
    expect(direct("https://rel.example:8443/x", "rel.example:443")).toBe(false);
    expect(direct("http://127.0.0.1/x", "127.0.0.1:80")).toBe(true);
    expect(direct("http://[::1]:8080/x", "[::1]:8080")).toBe(true);
    expect(direct("http://[::1]:8081/x", "[::1]:8080")).toBe(false);
  });
});
