/**
 * Whether `no_proxy` sends a URL's host around the proxy, read as curl reads it (curl, git and apt
 * share the variable with ship on one host, so one value must mean one thing). undici's own reading
 * compared every entry as a name suffix: `10.0.0.0/8` and `::1` never matched (the release server on
 * the LAN went through the proxy, which refused it or could not reach it), while `.0.0.1` matched
 * 127.0.0.1 where curl goes through the proxy.
 *
 * - `*` (the whole value, or one entry of it) matches every host;
 * - a name matches itself and its subdomains (`corp.example` and `.corp.example` both match
 *   `a.corp.example`; `*.corp.example` too), case and a trailing dot aside;
 * - an IP address matches an entry that is the same address or a CIDR range holding it
 *   (`10.0.0.0/8`, `fd00::/8`; `[::1]` as well as `::1`), never a name suffix;
 * - `host:port` (as Go, Python and undici read it) matches that port only.
 */
import { BlockList, isIP } from "node:net";

interface Entry {
  host: string;
  port?: number;
}

function entries(noProxy: string): Entry[] {
  return noProxy
    .split(/[\s,]+/)
    .filter((token) => token !== "")
    .map((token) => {
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(token);
      if (bracketed?.[1] !== undefined)
        return { host: bracketed[1], ...(bracketed[2] === undefined ? {} : { port: Number(bracketed[2]) }) };
      // An IPv6 address has colons of its own: only a name or an IPv4 address takes `:port`.
      const withPort = /^([^:]+):(\d+)$/.exec(token);
      if (withPort?.[1] !== undefined && withPort[2] !== undefined)
        return { host: withPort[1], port: Number(withPort[2]) };
      return { host: token };
    });
}

function addressMatches(address: string, family: number, host: string): boolean {
  const [net, bits, ...rest] = host.split("/");
  if (net === undefined || rest.length > 0) return false;
  const netFamily = isIP(net);
  if (netFamily === 0) return false;
  const list = new BlockList();
  const type = netFamily === 4 ? "ipv4" : "ipv6";
  try {
    if (bits === undefined) list.addAddress(net, type);
    else if (/^\d+$/.test(bits)) list.addSubnet(net, Number(bits), type);
    else return false;
  } catch {
    // A prefix longer than the address (`10.0.0.0/40`): curl matches nothing with it either.
    return false;
  }
  return list.check(address, family === 4 ? "ipv4" : "ipv6");
}

function nameMatches(name: string, entry: string): boolean {
  const pattern = entry
    .replace(/^\*?\./, "")
    .replace(/\.$/, "")
    .toLowerCase();
  if (pattern === "") return false;
  return name === pattern || name.endsWith(`.${pattern}`);
}

/** True when a request to `url` goes directly, not through the proxy. */
export function bypassesProxy(url: URL, noProxy: string): boolean {
  const list = entries(noProxy);
  if (list.some((e) => e.host === "*")) return true;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const family = isIP(host);
  const name = host.replace(/\.$/, "").toLowerCase();
  return list.some(
    (e) =>
      (e.port === undefined || e.port === port) &&
      (family === 0 ? nameMatches(name, e.host) : addressMatches(host, family, e.host)),
  );
}
