/** Idle connections count per address: IPv4 (also IPv4-mapped) as is, IPv6 by the /64 one host holds whole. */
import { describe, expect, it } from "vitest";
import { addressKey } from "../../../../hub/auth/idle-connections.js";

describe("addressKey", () => {
  it("keeps IPv4, unwraps IPv4-mapped IPv6, and groups IPv6 by /64", () => {
    expect(addressKey("10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("2001:db8:0:7::1")).toBe("2001:db8:0:7::/64");
    expect(addressKey("2001:db8:0:7:ffff:1:2:3")).toBe("2001:db8:0:7::/64");
    expect(addressKey("2001:0DB8::")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::a:b:c:d")).toBe("fe80:0:0:0::/64");
    expect(addressKey(undefined)).toBe("?");
  });
});
