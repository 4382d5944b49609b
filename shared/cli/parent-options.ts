/**
 * Commander hands a parent command's options to its subcommands wherever they stand on the line:
 * `ship-hub agents forget ID --status online` was taken as `agents`' filter and the forget ran as if
 * it were not there (exit 0), though forget reads no filter. A subcommand reads only the options its
 * parent hands down (`handDown`: the hub address and token `agents forget` shares with `agents`);
 * any other parent option given to it is bad input, exit 2, naming the flag and both commands.
 */
import type { Command } from "commander";
import { BadInputError } from "../errors.js";
import { commandPath } from "./usage-lines.js";

const handedDown = new WeakMap<Command, ReadonlySet<string>>();

/** `command`'s subcommands read these of its options (long names, `--hub`); returns `command`. */
export function handDown(command: Command, flags: readonly string[]): Command {
  handedDown.set(command, new Set(flags));
  return command;
}

/** Refuses, before any subcommand of `program` runs, a parent's option that subcommand does not read. */
export function refuseParentOptions(program: Command): void {
  program.hook("preAction", (_program, action) => {
    for (let parent = action.parent; parent !== null; parent = parent.parent) {
      const read = handedDown.get(parent);
      for (const option of parent.options) {
        const flag = option.long ?? option.flags;
        if (read?.has(flag) === true || parent.getOptionValueSource(option.attributeName()) !== "cli")
          continue;
        throw BadInputError.single(
          flag,
          "",
          `is an option of \`${commandPath(parent)}\`, not of \`${commandPath(action)}\`, which does not read it: leave it out`,
        );
      }
    }
  });
}
