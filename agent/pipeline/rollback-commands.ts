/**
 * The commands that undo a release: its rollback hooks, then its custom_rollback_command, each
 * named as the manifest has it. The automatic rollback, `--rollback`, the hub's rollback and the
 * recovery of a killed run all run this list, so a failure reads the same on every path.
 */
import type { Manifest } from "../../shared/manifest/schema.js";
import { listed, type NamedCommand } from "../exec/named-command.js";

export function rollbackCommandsOf(manifest: Manifest): NamedCommand[] {
  const custom = manifest.rollback.custom_rollback_command;
  return [
    ...listed("rollback hook", manifest.hooks.rollback),
    ...(custom === undefined ? [] : [{ name: "custom_rollback_command", spec: custom }]),
  ];
}

/** What every path says of rollback commands that failed (the files are restored); undefined when none did. */
export function failedRollbackCommands(problems: readonly string[]): string | undefined {
  return problems.length === 0 ? undefined : `rollback commands failed: ${problems.join("; ")}`;
}
