/**
 * Warnings `ship release` prints on stderr, one line each: `warning: TEXT`, or `{"warning": TEXT}`
 * with --json (stdout holds the answer a CI script parses). The manifest's warnings are said as
 * `ship --test-manifest` says them, naming file:line:column and key: `http`, `sftp`, `git`, `sign`
 * and `publish` read the manifest, and all but the agents' own check said nothing, so CI released
 * `auto_rolback_on:` with exit 0 and the safety setting it meant was off on every host.
 */
import { formatIssue, type Issue } from "../../shared/errors.js";
import type { ReleaseIo } from "./cli-io.js";

const PREFIX = "warning: ";

/** One warning line; `text` without the `warning: ` prefix (it is added here when absent). */
export function sayWarning(o: { json: boolean; io: ReleaseIo }, text: string): void {
  const warning = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : text;
  o.io.err(o.json ? JSON.stringify({ warning }) : `${PREFIX}${warning}`);
}

/** The manifest's warnings (from parseManifestText), each on its own line. */
export function sayManifestWarnings(o: { json: boolean; io: ReleaseIo }, warnings: readonly Issue[]): void {
  for (const issue of warnings) sayWarning(o, formatIssue(issue));
}
