import { ExitCode, ShipError } from "../../shared/errors.js";

/**
 * A download that could not complete (network, timeout, HTTP status, size). Nothing was
 * installed, so the run fails with exit 1 and the app stays on its version. `url` is redacted.
 */
export class DownloadError extends ShipError {
  readonly exitCode = ExitCode.updateFailedRestored;
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(`download of ${url} failed: ${reason}`);
    this.name = "DownloadError";
  }
}
