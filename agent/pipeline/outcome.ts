/** What a step tells the runner: go on, or stop here on purpose (not a failure). */
export type StepOutcome =
  | { next: "continue" }
  | { next: "stop"; result: "skipped"; message: string }
  | { next: "stop"; result: "up_to_date"; message: string }
  | { next: "stop"; result: "manual_intervention_required"; message: string; manualSteps: string[] };

export type StopOutcome = Extract<StepOutcome, { next: "stop" }>;

export const CONTINUE: StepOutcome = { next: "continue" };
