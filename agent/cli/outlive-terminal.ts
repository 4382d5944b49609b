/**
 * A `ship` run (or `--recover`, `--rollback`) started by hand over ssh must outlive the session.
 * When the connection dropped, the kernel's SIGHUP killed it by Node's default, mid-update, and the
 * app stayed half-installed until the next run's recovery undid it; without a terminal (`ssh host
 * ship`, `ship | head`) the first write to the closed stdout ended it with exit 0 mid-update.
 * Now the run goes on to its end as under `nohup`: what it would print is dropped, and the log
 * file and the state record the outcome.
 */
import { keepGoingWhenStdoutCloses } from "../../shared/cli/closed-stdout.js";
import { type Logger, reopenLogFiles } from "../../shared/log.js";

/** A write to a terminal that hung up (EIO) or a pipe whose reader left (EPIPE). */
const GONE = new Set(["EIO", "EPIPE"]);

let installed = false;

/** For the rest of the process: SIGHUP is logged and ignored; a gone stdout or stderr is not written. */
export function outliveTerminal(log: Logger): void {
  if (installed) return;
  installed = true;
  keepGoingWhenStdoutCloses();
  process.stderr.on("error", (error: NodeJS.ErrnoException) => {
    if (!GONE.has(error.code ?? "")) throw error;
  });
  let hungUp = false;
  process.on("SIGHUP", () => {
    // The kernel sends one and the login shell passes one on to its jobs: say it once.
    if (hungUp) return;
    hungUp = true;
    // logrotate may send it too, as to `ship agent`: the log file is reopened by its name.
    reopenLogFiles();
    log.warn(
      "SIGHUP: the terminal hung up; this run goes on to its end (its output is dropped: the log file and ship's state keep the outcome)",
      { signal: "SIGHUP" },
    );
  });
}
