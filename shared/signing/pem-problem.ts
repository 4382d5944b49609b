/**
 * What is wrong with the text of a PEM key OpenSSL would not read, in words. OpenSSL says
 * "error:1E08010C:DECODER routines::unsupported" for an empty file, a block whose line breaks were
 * lost, an indented block and a damaged body alike; the first two are CI's usual failures (a secret
 * this job is not given, so `echo "$KEY" > key.pem` writes a blank line; a variable store that
 * keeps one line), and the code named none of them.
 */

export type PemLabel = "PRIVATE KEY" | "PUBLIC KEY";

export function pemKeyProblem(text: string, label: PemLabel): string {
  const trimmed = text.trim();
  if (trimmed === "")
    return label === "PRIVATE KEY"
      ? "is empty: the CI secret that holds the key is unset, or not given to this job (a fork's pull request gets no secrets)"
      : "is empty";
  if (!trimmed.includes("-----BEGIN"))
    return /^[A-Za-z0-9+/=\s]+$/.test(trimmed)
      ? `holds base64 without a PEM block around it: the key is its -----BEGIN ${label}----- line, this base64 and its -----END ${label}----- line`
      : `holds no PEM block (-----BEGIN ${label}-----)`;
  if (!/-----END [A-Z0-9 ]+-----/.test(trimmed)) return "holds a PEM block that does not end (cut off?)";
  if (/-----BEGIN [A-Z0-9 ]+-----[^\r\n]/.test(trimmed))
    return "has its PEM block on one line: its line breaks were lost (a CI variable that keeps one line?); store the file as written, line breaks and all";
  if (/^[ \t]+\S/m.test(trimmed))
    return "has indented lines (pasted from YAML with its indent?): each PEM line starts at the start of its line";
  return "holds a PEM block that does not decode as a key (its base64 is damaged or cut short)";
}
