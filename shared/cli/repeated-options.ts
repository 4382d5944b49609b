/**
 * A flag that takes one value, given twice with two values (`ship --rollback a-1 --rollback a-2`,
 * `ship-hub rollout abort ID --from-wave 1 --from-wave 2`): commander keeps the last word without a
 * word, so a restore or an abort acted on the value the operator may not have meant. Refused as bad
 * input naming the flag and both values, before the command runs. Flags meant to be repeated
 * (`--wave`, `--selector`, `--sources`) collect their values into a list and are left alone; the
 * same value twice changes nothing and is let through.
 */
import type { Command } from "commander";
import { BadInputError } from "../errors.js";

/** Records each value given on the command line to a one-value flag of every command of `program`. */
export function refuseRepeatedValues(program: Command): void {
  const given = new Map<Command, Map<string, string[]>>();
  const watch = (command: Command): void => {
    const seen = new Map<string, string[]>();
    given.set(command, seen);
    for (const option of command.options) {
      if (!(option.required || option.optional) || option.variadic) continue;
      const key = option.attributeName();
      command.on(`option:${option.name()}`, (value: unknown) => {
        if (typeof value === "string") seen.set(key, [...(seen.get(key) ?? []), value]);
      });
    }
    for (const sub of command.commands) watch(sub);
  };
  watch(program);
  program.hook("preAction", (_program, actionCommand) => {
    for (let at: Command | null = actionCommand; at !== null; at = at.parent) {
      const problem = repeatedValue(at, given.get(at));
      if (problem !== undefined) throw problem;
    }
  });
}

function repeatedValue(command: Command, seen: Map<string, string[]> | undefined): BadInputError | undefined {
  if (seen === undefined) return undefined;
  for (const option of command.options) {
    const values = seen.get(option.attributeName()) ?? [];
    // A flag whose parser collects its values into a list is meant to be repeated.
    if (new Set(values).size < 2 || Array.isArray(command.getOptionValue(option.attributeName()))) continue;
    const shown = values.map((v) => JSON.stringify(v)).join(", then ");
    return BadInputError.single(
      option.long ?? option.flags,
      "",
      `is given more than once (${shown}): it takes one value; give it once`,
    );
  }
  return undefined;
}
