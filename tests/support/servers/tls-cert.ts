/** A throwaway CA and a server certificate for 127.0.0.1/localhost, made with the real openssl. */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCert {
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/**
 * Writes ca.pem, server.pem and server.key into `dir` (which the caller cleans up); the server
 * certificate is for `names` (subjectAltName) and valid for `days` (0: it has expired a second later).
 */
export async function makeTestCert(
  dir: string,
  names = "IP:127.0.0.1,DNS:localhost",
  days = 2,
): Promise<TestCert> {
  const p = (name: string) => join(dir, name);
  await run("openssl", [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=ship test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run("openssl", [
    "req",
    ...EC,
    "-keyout",
    p("server.key"),
    "-out",
    p("server.csr"),
    "-subj",
    "/CN=localhost",
  ]);
  await writeFile(p("server.ext"), `subjectAltName=${names}\nextendedKeyUsage=serverAuth\n`);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-out",
    p("server.pem"),
    "-days",
    String(days),
    "-extfile",
    p("server.ext"),
  ]);
  return {
    caFile: p("ca.pem"),
    certFile: p("server.pem"),
    keyFile: p("server.key"),
    ca: await readFile(p("ca.pem")),
    cert: await readFile(p("server.pem")),
    key: await readFile(p("server.key")),
  };
}
