/**
 * `sign` and `publish` vouch for an archive every agent then unpacks: they unpack it the agents'
 * way first (extract.ts, into a scratch directory removed again), so an entry any agent refuses — a
 * sparse file, an unknown type, a path or hard link out of the release, a symlink leaving it, a
 * device, a setuid bit, a file where a directory was — is refused here with the agents' own
 * words, naming the entry. A tar-only look let such an archive be signed and published, exit 0, for
 * every agent to refuse.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extractArchive } from "../archive/extract.js";
import { signalExitCode } from "../cli/stop-signals.js";

/**
 * An agent's largest file is its own setting (`[sources.APP.security] max_file_size_mb`): no limit
 * of one host is held against the release here; the limits every agent applies still are.
 */
const ANY_FILE_SIZE = Number.MAX_SAFE_INTEGER;

/** Throws the refusal an agent would give `archive`'s entries (exit 2), else resolves. */
export async function refuseWhatAgentsRefuse(archive: string): Promise<void> {
  // A Ctrl-C or SIGTERM mid-check ended the process with the release half unpacked in $TMPDIR,
  // left there by every stopped sign or publish: removed, and the process ends as the signal would.
  // The handlers come first and the directory is made synchronously: a signal that arrived while
  // an async mkdtemp ran, before any handler, took Node's default action and left the directory.
  const stopped = (signal: NodeJS.Signals) => {
    // Writes of the extraction still in flight may land while it is removed: tried again.
    for (let tries = 0; tries < 5 && existsSync(scratch); tries++) {
      try {
        rmSync(scratch, { recursive: true, force: true });
      } catch {
        // ENOTEMPTY from a file written meanwhile: the next try takes it
      }
    }
    process.exit(signalExitCode(signal));
  };
  process.once("SIGINT", stopped);
  process.once("SIGTERM", stopped);
  let scratch: string;
  try {
    scratch = mkdtempSync(join(tmpdir(), "ship-release-check-"));
  } catch (error) {
    process.off("SIGINT", stopped);
    process.off("SIGTERM", stopped);
    throw error;
  }
  try {
    // Given as a stream so errors name the archive as the operator did, not by its base name.
    await extractArchive(
      { body: createReadStream(archive), label: archive, complete: async () => archive },
      join(scratch, "release"),
      { maxFileBytes: ANY_FILE_SIZE },
    );
  } finally {
    process.off("SIGINT", stopped);
    process.off("SIGTERM", stopped);
    await rm(scratch, { recursive: true, force: true });
  }
}
