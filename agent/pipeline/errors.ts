/** Pipeline outcomes that are failures but not the ones shared/errors.ts already names. */
import { ExitCode, ShipError } from "../../shared/errors.js";

export { UpdateNotAppliedError } from "../../shared/errors.js";

/**
 * A step after the apply failed but the manifest's auto_rollback_on does not include its trigger:
 * the new version stays in place as the manifest asked, and a person should look. Exit 1.
 */
export class UpdateLeftInPlaceError extends ShipError {
  readonly exitCode = ExitCode.updateFailedRestored;
  constructor(
    readonly app: string,
    readonly step: string,
    readonly reason: string,
    readonly trigger: string,
    readonly version: string,
  ) {
    super(
      `${app}: update to ${version} FAILED at ${step}: ${reason}; NOT rolled back because auto_rollback_on ` +
        `does not include ${trigger}: version ${version} is LEFT IN PLACE`,
    );
    this.name = "UpdateLeftInPlaceError";
  }
}

/** A step's own failure, carrying the text for state files and notifications. */
export class StepFailedError extends Error {
  constructor(
    readonly step: string,
    readonly reason: string,
  ) {
    super(`${step}: ${reason}`);
    this.name = "StepFailedError";
  }
}
