/**
 * A manifest command with the name its messages use: where the operator wrote it (`pre_update
 * hook[0]`, `migration 2.0.0[1]`, `custom_rollback_command`). A record that keeps commands for a
 * later run (a rollback a kill interrupted) keeps the name with each: rebuilt from a joined list, a
 * failing `custom_rollback_command` was `rollback[2]`, which no manifest key is.
 */
import * as z from "zod";
import { CommandSpec } from "../../shared/manifest/schema.js";

export const NamedCommand = z.strictObject({ name: z.string().min(1), spec: CommandSpec });
export type NamedCommand = z.infer<typeof NamedCommand>;

/** A manifest list's commands, named by their place in it: `label[0]`, `label[1]`… */
export function listed(label: string, specs: readonly CommandSpec[]): NamedCommand[] {
  return specs.map((spec, index) => ({ name: `${label}[${index}]`, spec }));
}

/**
 * A kept list of commands: named ones, or bare ones from a record written before names were kept,
 * which can only be named by their place in the joined list (`rollback[N]`, as they were then).
 */
export const KeptCommands = z
  .array(z.union([NamedCommand, CommandSpec]))
  .transform((commands): NamedCommand[] =>
    commands.map((command, index) =>
      typeof command === "object" && "name" in command
        ? command
        : { name: `rollback[${index}]`, spec: command },
    ),
  );
