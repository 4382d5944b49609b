import { describe, expect, it } from "vitest";
import { takeUrlCredentials } from "../../../agent/download/url-credentials.js";

const basic = (pair: string) => `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;

describe("takeUrlCredentials", () => {
  it("turns user:password@ into Basic auth and takes them off the URL", () => {
    expect(takeUrlCredentials("https://deploy:p%40ss%20word@host:8443/a.tar.gz?x=1", {})).toEqual({
      url: "https://host:8443/a.tar.gz?x=1",
      headers: { authorization: basic("deploy:p@ss word") },
    });
  });

  it("keeps an Authorization the config sets (any case), and a URL without userinfo as it is", () => {
    expect(takeUrlCredentials("https://u:p@host/a", { AUTHORIZATION: "Bearer t" })).toEqual({
      url: "https://host/a",
      headers: { AUTHORIZATION: "Bearer t" },
    });
    expect(takeUrlCredentials("https://host/a", { "X-Api-Key": "k" })).toEqual({
      url: "https://host/a",
      headers: { "X-Api-Key": "k" },
    });
  });

  it("takes a stray % that encodes nothing as written instead of throwing", () => {
    expect(takeUrlCredentials("https://a%zz:b@host/", {}).headers.authorization).toBe(basic("a%zz:b"));
  });
});
