/**
 * Runs one git command in a source's clone and returns its stdout. A plain child process, not
 * simple-git (whose one rule it keeps: a non-zero exit that says nothing is an answer): that
 * library took ~40 ms of CPU to load on every git run, and queued the commands an update starts
 * together behind its own limit of five at a time.
 */
import type { ExecFileException } from "node:child_process";

export type RunGit = (args: string[]) => Promise<string>;

/** git exited non-zero: its stderr (or the exit code) as the message, and what it printed. */
export class GitCommandError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly stdout: string,
  ) {
    super(message);
    this.name = "GitCommandError";
  }
}

/** `git ls-tree -r` of a 20,000-file tree is a few MB; execFile's 1 MB default would cut it off. */
const MAX_OUTPUT = 1024 * 1024 * 1024;

export function gitRunner(cwd: string, env: Record<string, string>): RunGit {
  return (args) => {
    // Loaded when git runs: modules that import this one are on no start-up path of their own.
    const { execFile } = process.getBuiltinModule("node:child_process");
    return new Promise((resolve, reject) => {
      execFile(
        "git",
        args,
        { cwd, env, maxBuffer: MAX_OUTPUT, encoding: "utf8" },
        (error: ExecFileException | null, stdout: string, stderr: string) => {
          if (error === null) return resolve(stdout);
          const code = typeof error.code === "number" ? error.code : undefined;
          const said = stderr.trim();
          // A non-zero exit that says nothing is an answer, as simple-git read it before: `git grep`
          // finding no match, `rev-parse --verify --quiet` of a missing ref, `config --get` of an
          // unset key (exit 1, empty stderr).
          if (code !== undefined && said === "") return resolve(stdout);
          reject(
            new GitCommandError(
              said !== "" ? said : code !== undefined ? `git ${args[0]} exited with ${code}` : error.message,
              code,
              stdout,
            ),
          );
        },
      );
    });
  };
}
