/**
 * A server whose certificate this host cannot verify: an internal CA without `ca_file`, the wrong
 * `ca_file`, or a URL naming a host the certificate is not for. It was exit 1 "download failed:
 * unable to verify the first certificate", as if the network might heal, on every run; no retry
 * fixes it (or it is someone in the middle), so it is a refused verification naming the key to
 * change. An expired certificate is the server's to renew and stays a failed download.
 */
import { BadInputError } from "../../shared/errors.js";
import { DownloadError } from "./errors.js";

/** OpenSSL's codes for a chain that leads to no CA the client trusts. */
const UNTRUSTED_CHAIN = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
]);

/**
 * What a TLS failure's `code` says is wrong with the server's certificate for this client: signed
 * by no CA it trusts, or not for the host name it asked for; undefined for anything else.
 */
export function certificateRefusal(code: string | undefined): "untrusted" | "wrong-name" | undefined {
  if (code === undefined) return undefined;
  if (UNTRUSTED_CHAIN.has(code)) return "untrusted";
  return code === "ERR_TLS_CERT_ALTNAME_INVALID" ? "wrong-name" : undefined;
}

/** `caFile` is the source's `ca_file` as configured, when it has one. */
export function untrustedCertificateAt(
  err: unknown,
  source: string,
  caFile: string | undefined,
): BadInputError | undefined {
  if (!(err instanceof DownloadError) || err.code === undefined) return undefined;
  const key = (k: string) => `sources.${source}.${k}`;
  const refusal = certificateRefusal(err.code);
  if (refusal === "untrusted") {
    const fix =
      caFile === undefined
        ? "set ca_file to the certificate (PEM) of the CA that signed it"
        : `ca_file ${caFile} is not that CA's certificate: give the one that signed the server's (PEM)`;
    return BadInputError.single(
      "ship.toml",
      key("ca_file"),
      `${err.url}: the server's certificate is not signed by a CA this host trusts (${err.code}); ${fix}`,
    );
  }
  if (refusal === "wrong-name")
    return BadInputError.single(
      "ship.toml",
      key("url"),
      `${err.url}: the server's certificate is not for this host name (${err.code})${forNames(err)}; name the server in url as its certificate does`,
    );
  return undefined;
}

/**
 * The same for a hub release whose URL is on another origin than the app's own source `url` (or
 * whose app has no http(s) source): it read "download … failed: unable to verify the first
 * certificate", naming nothing to set. The app's ca_file is what this host checks such a URL
 * against (its headers stay with its own origin); a source of another type has none.
 */
export function untrustedReleaseUrl(
  err: unknown,
  source: string,
  sourceType: string,
  caFile: string | undefined,
): BadInputError | undefined {
  if (!(err instanceof DownloadError)) return undefined;
  const refusal = certificateRefusal(err.code);
  if (refusal === "wrong-name")
    return BadInputError.single(
      "hub release",
      "source.url",
      `${err.url}: the server's certificate is not for this host name (${err.code})${forNames(err)}; publish the release with a URL naming the server as its certificate does`,
    );
  if (refusal === undefined) return undefined;
  const untrusted = `${err.url}: the server's certificate is not signed by a CA this host trusts (${err.code})`;
  if (sourceType === "http" || sourceType === "https")
    return BadInputError.single(
      "ship.toml",
      `sources.${source}.ca_file`,
      caFile === undefined
        ? `${untrusted}; set ca_file to the certificate (PEM) of the CA that signed it (this app's hub releases are checked against it on any origin)`
        : `${untrusted}; ca_file ${caFile} is not that CA's certificate: add the one that signed this server's (one PEM file may hold several)`,
    );
  return BadInputError.single(
    "hub release",
    "source.url",
    `${untrusted}; [sources.${source}] is type ${sourceType}, which has no ca_file: publish the release on a server this host trusts, or give ship agent NODE_EXTRA_CA_CERTS=/path/to/ca.pem (a drop-in's Environment=)`,
  );
}

/** ": it is for DNS:a.example, IP:10.0.0.1", when the refused certificate said; "" otherwise. */
function forNames(err: DownloadError): string {
  return err.certificateNames === undefined ? "" : `: it is for ${err.certificateNames}`;
}
