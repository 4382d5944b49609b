/**
 * A flag or argument given an empty string (`--rollback ""`, `--config ""`, `token revoke ""`) is a
 * mistake, usually an unset shell variable: refused as bad input naming the flag, before the command
 * runs, instead of reaching the command as a value ("no backup with id  (see …)"). So is a flag
 * whose value is one of the command's own flags (`ship --rollback --json`, the id left out):
 * commander takes the next word whatever it is, and the rollback said "holds no backup with id
 * --json", without the --json output asked for.
 */
import type { Command } from "commander";
import { BadInputError } from "../errors.js";
import { allCommands } from "./usage-lines.js";

const blank = (value: unknown): boolean =>
  typeof value === "string" ? value.trim() === "" : Array.isArray(value) && value.some(blank);

/**
 * The first flag or argument of `command` given on the command line as an empty string. Its parent
 * commands' flags count too: `ship --config "" agent` read "ship:  cannot read the config" and
 * `ship release -C "" bump` " is not a git work tree", naming nothing.
 */
export function emptyValueProblem(command: Command): BadInputError | undefined {
  const flags = optionNames(command);
  for (let at: Command | null = command; at !== null; at = at.parent) {
    const problem = emptyOption(at, flags);
    if (problem !== undefined) return problem;
  }
  const args = command.registeredArguments;
  for (const [i, value] of command.processedArgs.entries()) {
    if (blank(value))
      return BadInputError.single(
        `<${args[i]?.name() ?? `argument ${i + 1}`}>`,
        "",
        "is empty: give it a value",
      );
  }
  return undefined;
}

/**
 * Every option name of the program `command` belongs to, in any of its commands: a word the operator
 * meant as a flag, never as a value. The help flag is each command's too (`-h, --help` in each
 * listing), though commander keeps it apart from `options`: without it `ship --rollback --help` said
 * "holds no backup with id --help". So is a subcommand's flag (`ship-hub rollout list --after --json`).
 */
function optionNames(command: Command): Set<string> {
  let root = command;
  while (root.parent !== null) root = root.parent;
  const names = new Set<string>();
  const add = (at: Command): void => {
    // visibleOptions adds the help option (public API); `options` keeps the hidden ones.
    for (const option of [...at.options, ...at.createHelp().visibleOptions(at)])
      for (const flag of [option.long, option.short]) if (flag) names.add(flag);
    for (const sub of at.commands) add(sub);
  };
  add(root);
  return names;
}

function emptyOption(command: Command, flags: ReadonlySet<string>): BadInputError | undefined {
  for (const option of command.options) {
    const key = option.attributeName();
    if (command.getOptionValueSource(key) !== "cli") continue;
    const value: unknown = command.getOptionValue(key);
    const flag = (Array.isArray(value) ? value : [value]).find(
      (v): v is string => typeof v === "string" && flags.has(v.split("=")[0] ?? v),
    );
    if (flag !== undefined && (option.required || option.optional))
      return BadInputError.single(
        option.long ?? option.flags,
        "",
        `has no value: the word after it is the option ${flag}; give it a value (${option.flags})`,
      );
    if (blank(value))
      return BadInputError.single(
        option.long ?? option.flags,
        "",
        Array.isArray(value) ? "has an empty value: give each a value" : "is empty: give it a value",
      );
  }
  return undefined;
}

/**
 * Checks every command of `program` before its action runs (commander's preAction hook), and before
 * commander's own refusals: a flag that took the next flag as its value left that one's value a
 * stray word, which commander refused before any action hook ran, naming the wrong thing —
 * `ship --rollback --config ship.toml` said "too many arguments", `ship-hub token create --name
 * --role admin` "required option '--role <role>' not specified". Its refusal, commander's one
 * way out (`.error`), now says what went wrong first.
 */
export function refuseEmptyValues(program: Command): void {
  program.hook("preAction", (_program, actionCommand) => {
    const problem = emptyValueProblem(actionCommand);
    if (problem !== undefined) throw problem;
  });
  for (const command of allCommands(program)) {
    const commanderError = command.error.bind(command);
    command.error = (message, options) => {
      const problem = emptyValueProblem(command);
      return problem === undefined
        ? commanderError(message, options)
        : commanderError(problem.message, { exitCode: 2, code: "ship.emptyValue" });
    };
  }
}
