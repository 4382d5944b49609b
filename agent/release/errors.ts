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

/**
 * A version already published with other bytes (on an sftp server, in an --out directory): a
 * version is immutable, as the hub's 409 says, so this is the input refused (exit 2).
 */
export class VersionPublishedError extends ShipError {
  readonly exitCode: ExitCode = ExitCode.badInput;
  constructor(message: string) {
    super(message);
    this.name = "VersionPublishedError";
  }
}

/** The one line both refusals say: what holds the version, both sha256s, and what to do. */
export function immutableVersionText(
  where: string,
  version: string,
  existing: string,
  built: string,
  nothing: "written" | "uploaded",
): string {
  return `${where}: version ${version} is already published there with sha256 ${existing}, this build's is ${built}: a version is immutable (hosts already on it keep the old bytes); bump the version (ship release bump patch) and release again; nothing was ${nothing}`;
}
