/** Where `ship release` prints: stdout/stderr by default, injectable so tests read what a user sees. */
export interface ReleaseIo {
  out(text: string): void;
  err(text: string): void;
  /** Where a progress bar is drawn when it is a terminal (stderr); absent: plain `err` lines. */
  stream?: NodeJS.WriteStream;
}

export const processIo: ReleaseIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  stream: process.stderr,
};

/** `v1.2.3` → `1.2.3`: tags carry the v, versions and archive names do not. */
export function normaliseVersion(version: string): string {
  return /^[vV]\d/.test(version) ? version.slice(1) : version;
}

/** The app name from a directory name, reduced to what the hub accepts. */
export function appNameFrom(dir: string): string {
  const base = dir.replace(/\/+$/, "").split("/").pop() ?? "";
  const cleaned = base.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  return cleaned === "" ? "app" : cleaned;
}
