import { VerificationError } from "../../shared/errors.js";

/**
 * The archive as a whole is no tar ship reads (a zip, an HTML page, empty, cut short, compressed
 * twice), as opposed to one entry of it: `reason` says what it is. Its own class, apart from
 * extract.ts and the tar reader it loads, so a source names its own config key for it (a local
 * `path` to a .zip said only "r.zip: not a valid tar archive").
 */
export class ArchiveFormatError extends VerificationError {
  constructor(
    label: string,
    readonly reason: string,
  ) {
    super(label, reason);
    this.name = "ArchiveFormatError";
  }
}
