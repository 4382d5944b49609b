/**
 * What is wrong with a file given as a CA's certificate, in words. Node's TLS reads a `ca` holding
 * no PEM certificate (a private key, a DER file, a stray text) as "no CA at all" without a word, so
 * such a file was accepted at start and every connection then failed with "ca_file … is not that
 * CA's certificate", which sent the operator looking for another CA instead of at the file's form.
 */
import { X509Certificate } from "node:crypto";

const BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function parses(data: Buffer | string): boolean {
  try {
    new X509Certificate(data);
    return true;
  } catch {
    return false;
  }
}

/** Undefined when `data` holds one or more PEM certificates, each readable; else why not. */
export function caCertificateProblem(path: string, data: Buffer): string | undefined {
  const text = data.toString("latin1");
  const blocks = text.match(BLOCK) ?? [];
  const broken = blocks.findIndex((block) => !parses(block));
  if (broken >= 0)
    return `${path}: certificate ${broken + 1} of ${blocks.length} is damaged (it does not parse): give the CA's certificate (PEM) as issued`;
  if (blocks.length > 0) return undefined;
  const give = "give the certificate (PEM, -----BEGIN CERTIFICATE-----) of the CA that signed the server's";
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    return `${path} holds a private key, not a certificate: ${give}`;
  if (parses(data))
    return `${path} is a DER (binary) certificate and ship reads PEM: convert it with openssl x509 -inform der -in ${path} -out ca.pem and name ca.pem`;
  return `${path} holds no certificate (no -----BEGIN CERTIFICATE----- block): ${give}`;
}
