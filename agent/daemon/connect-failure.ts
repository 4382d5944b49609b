/**
 * The words for a hub connection that failed: the upgrade answered with a status, or a connect
 * error. The reconnect line carries them; "closed; reconnecting" alone sent operators guessing.
 */

import { fsErrorText } from "../../shared/fs-errors.js";
import { AGENT_CHANNEL_PATH } from "../../shared/protocol/messages.js";
import { proxyFailureText } from "../download/proxy.js";
import { certificateRefusal } from "../download/untrusted-certificate.js";

/**
 * Why the upgrade was answered with a status: a 404 is a wrong path in `[hub] url` (a proxy prefix),
 * not a refusal; 401/403 are the hub refusing the token, 409 another live connection of this agent id,
 * 429 too many hellos. The hub's reason goes last: after it, "instead of opening the agent channel"
 * read as part of its advice ("Give each its own [hub] agent_id instead of opening …").
 */
export function answerText(
  status: number | undefined,
  reason: string | undefined,
  location?: string,
): string {
  const why = reason ? `: ${reason}` : "";
  // A proxy sending http:// to https:// (or a moved hub): the agent channel follows no redirect, and
  // the line said only "answered 301" without the address that works.
  if (status !== undefined && status >= 300 && status < 400 && location)
    return `the server redirects to ${hubBase(location)} (${status}): put that address in [hub] url (the agent follows no redirect)`;
  if (status === 404) return `nothing takes agents at that address (404${why}): check the path in [hub] url`;
  if (isRefusal(status)) return `the hub refused the connection (${status}${why})`;
  // The hub's database unreachable (503), or a proxy whose hub is down (502, 504): a passing fault
  // on the server's side, nothing about this agent's token or config.
  if (status !== undefined && status >= 500)
    return `the hub could not take the connection now (${status}${why || ": the hub, or a proxy in front of it, is not working"})`;
  return `the server answered ${status ?? "?"} instead of opening the agent channel${why}`;
}

/** A redirect's target as a `[hub] url` would name it: without the agent channel's own path. */
function hubBase(location: string): string {
  const base = location.replace(/\?.*$/, "");
  return base.endsWith(AGENT_CHANNEL_PATH) ? base.slice(0, -AGENT_CHANNEL_PATH.length) || "/" : base;
}

/** The hub said no to this agent: its token (401, 403), its id (409) or its rate (429). */
export function isRefusal(status: number | undefined): boolean {
  return status === 401 || status === 403 || status === 409 || status === 429;
}

/**
 * A connect error in words. An https:// [hub] url for a hub that serves http:// failed with
 * OpenSSL's "write EPROTO 80…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:…".
 */
export function connectErrorText(error: Error, handshakeMs: number): string {
  if (error.message === HANDSHAKE_TIMED_OUT)
    return `no answer from the hub within ${handshakeMs / 1000} s of connecting (a hub, load balancer or proxy that takes the connection and says nothing)`;
  if (/wrong version number/i.test(error.message))
    return "TLS handshake failed: the server there does not speak TLS (an https:// [hub] url for an http:// hub?)";
  const certificate = certificateText(error);
  if (certificate !== undefined) return certificate;
  // A proxy that is down or refuses the tunnel: its address read as the hub's.
  return proxyFailureText(error, fsErrorText(error)) ?? fsErrorText(error);
}

/**
 * What is wrong with the hub's certificate for this agent, naming what fixes it; the classes of
 * fault are the ones downloads say (untrusted-certificate.ts). A certificate for another name read
 * "IP: 127.0.0.1 is not in the cert's list: " (Node lists only the IP names of a certificate for
 * an address), and an expired one "certificate has expired", neither naming [hub] url or the hub.
 */
function certificateText(error: Error): string | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  const refusal = certificateRefusal(code);
  // A hub behind a private CA's certificate: the line said "unable to verify the first
  // certificate" and nothing of the key that fixes it.
  if (refusal === "untrusted")
    return `${fsErrorText(error)}: the hub's certificate is not from a CA this agent trusts (a private CA: name its certificate in [hub] ca_file)`;
  if (refusal === "wrong-name") {
    const { host, cert } = error as { host?: unknown; cert?: { subjectaltname?: unknown } };
    const names =
      typeof cert?.subjectaltname === "string" && cert.subjectaltname !== ""
        ? cert.subjectaltname
        : undefined;
    const forHost = typeof host === "string" ? ` for ${host}` : " for this host name";
    return `the hub's certificate is not${forHost} (${code}${names === undefined ? "" : `; it is for ${names.replace(/^DNS:/, "").replace(/, DNS:/g, ", ")}`}): name the hub in [hub] url as its certificate does`;
  }
  if (code === "CERT_HAS_EXPIRED")
    return `the hub's certificate has expired (${code}): renew it where the hub's TLS ends (the hub's proxy); this agent reconnects once it has`;
  if (code === "CERT_NOT_YET_VALID")
    return `the hub's certificate is not valid yet (${code}): is this host's clock right?`;
  return undefined;
}

/** ws's words for a handshake past its handshakeTimeout (hub-proxy-agent.ts uses them too). */
export const HANDSHAKE_TIMED_OUT = "Opening handshake has timed out";
