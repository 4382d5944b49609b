/** Runs `ship release ...` in-process through commander, capturing what a user would see. */
import { Command, CommanderError } from "commander";
import { registerReleaseCommand } from "../../../agent/cli/release-command.js";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runRelease(dir: string, ...args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command("ship").exitOverride().configureOutput({
    writeOut: (s) => out.push(s),
    writeErr: (s) => err.push(s),
  });
  registerReleaseCommand(program, { out: (s) => out.push(`${s}\n`), err: (s) => err.push(`${s}\n`) });
  process.exitCode = undefined;
  let code: number;
  try {
    await program.parseAsync(["release", "-C", dir, ...args], { from: "user" });
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    code = e.exitCode;
  } finally {
    process.exitCode = undefined;
  }
  return { code, out: out.join(""), err: err.join("") };
}
