import { ExitCode, ShipError } from "../shared/errors.js";

/**
 * A request the hub refuses; `status` is the HTTP status the API answers with. In the CLI a refusal
 * (4xx) is bad input, exit 2; a hub that is unreachable or failing (5xx) is a failure, exit 1.
 */
export class HubRequestError extends ShipError {
  readonly exitCode: ExitCode;
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HubRequestError";
    this.exitCode = status >= 500 ? ExitCode.updateFailedRestored : ExitCode.badInput;
  }
}

/** No usable credentials (401) or the wrong role for this route (403). */
export class AuthError extends HubRequestError {
  constructor(status: 401 | 403, reason: string) {
    super(status, reason);
    this.name = "AuthError";
  }
}
