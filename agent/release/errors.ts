import { ExitCode, ShipError } from "../../shared/errors.js";

/** A release step that failed for a reason outside the input (network, remote server). Exit 1. */
export class ReleaseFailedError extends ShipError {
  readonly exitCode: ExitCode = ExitCode.updateFailedRestored;
  constructor(
    readonly step: string,
    readonly reason: string,
  ) {
    super(`${step}: ${reason}`);
    this.name = "ReleaseFailedError";
  }
}

/** The hub answered with an error; 4xx means the request itself was refused (exit 2). */
export class HubRefusedError extends ReleaseFailedError {
  override readonly exitCode: ExitCode;
  constructor(
    readonly status: number,
    readonly request: string,
    readonly hubReason: string,
  ) {
    super(request, `the hub refused (HTTP ${status}): ${hubReason}`);
    this.name = "HubRefusedError";
    this.exitCode = status >= 400 && status < 500 ? ExitCode.badInput : ExitCode.updateFailedRestored;
  }
}
