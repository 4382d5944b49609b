/**
 * Commander's own refusals (an unknown option, a missing argument or required option, a bad choice)
 * read "error: required option '--app <name>' not specified", the suggestion on a line of its own,
 * and in ship-hub the whole help after it: unlike every other refusal, which is one line starting
 * with the command's name (`ship: …`, `ship release publish: …`, `ship-hub: …`), so a log or a
 * script reading the first line of stderr could not tell whose it was. This gives each command of a
 * program that one line.
 */
import type { Command } from "commander";

/**
 * For `commands` (see `allCommands`): `name` says which name starts a command's line (`ship`,
 * `ship release publish`); `hint`, what ends it (where to read the usage), in place of commander's
 * help printed after the error.
 */
export function sayUsageErrorsInOneLine(
  commands: readonly Command[],
  name: (command: Command) => string,
  hint: (command: Command) => string = () => "",
): void {
  for (const command of commands) {
    const own = command.configureOutput().outputError;
    const prefix = name(command);
    const end = hint(command);
    command.configureOutput({
      // A command's own outputError (one that adds a hint) still runs; its text is then made one line.
      outputError: (text, write) => {
        const say = (said: string): void => write(`${prefix}: ${usageErrorText(said)}${end}\n`);
        if (own === undefined) say(text);
        else own(text, say);
      },
    });
  }
}

/**
 * Commander's message as one line: its "error: " dropped, a suggestion ("(Did you mean --force?)")
 * joined to it. `--json` reports carry this text too, so a script reads what stderr said.
 */
export function usageErrorText(text: string): string {
  return text
    .replace(/^error: /, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ");
}

/** `ship-hub token create`: the names from the program down to `command`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at !== null; at = at.parent) names.unshift(at.name());
  return names.join(" ");
}

/** `command` and every command under it. */
export function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}
