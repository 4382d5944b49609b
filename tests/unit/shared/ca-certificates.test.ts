/** A CA file's form checked at start: Node's TLS reads anything but PEM certificates as no CA. */
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caCertificateProblem } from "../../../shared/ca-certificates.js";
import { hasProgram } from "../../support/require-program.js";
import { makeTestCert } from "../../support/servers/tls-cert.js";

describe.skipIf(!hasProgram("openssl"))("caCertificateProblem", () => {
  let root: string;
  let pem: Buffer;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-ca-form-"));
    pem = await readFile((await makeTestCert(root)).caFile);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("PEM certificates, one or a bundle with text between them, are fine", () => {
    expect(caCertificateProblem("ca.pem", pem)).toBeUndefined();
    const bundle = Buffer.concat([Buffer.from("# corp root\n"), pem, Buffer.from("\nsubject=...\n"), pem]);
    expect(caCertificateProblem("ca.pem", bundle)).toBeUndefined();
  });

  it("a DER certificate is named as DER, with the command that converts it", () => {
    const der = new X509Certificate(pem).raw;
    expect(caCertificateProblem("/etc/ca.der", der)).toBe(
      "/etc/ca.der is a DER (binary) certificate and ship reads PEM: convert it with openssl x509 -inform der -in /etc/ca.der -out ca.pem and name ca.pem",
    );
  });

  it("a bundle with one damaged certificate names which", () => {
    const damaged = Buffer.concat([
      pem,
      Buffer.from("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
    ]);
    expect(caCertificateProblem("ca.pem", damaged)).toMatch(/^ca\.pem: certificate 2 of 2 is damaged/);
  });
});
