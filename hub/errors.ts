import { ExitCode, ShipError } from "../shared/errors.js";

/** A request the hub refuses; `status` is the HTTP status the API answers with. */
export class HubRequestError extends ShipError {
  readonly exitCode = ExitCode.badInput;
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HubRequestError";
  }
}

/** No usable credentials (401) or the wrong role for this route (403). */
export class AuthError extends HubRequestError {
  constructor(status: 401 | 403, reason: string) {
    super(status, reason);
    this.name = "AuthError";
  }
}
