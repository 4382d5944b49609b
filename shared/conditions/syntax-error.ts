/** A condition that cannot be parsed; `offset` is the 0-based index into the condition text. */
export class ConditionSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "ConditionSyntaxError";
  }
}
