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

let installed = false;

/**
 * For the rest of the process: SIGHUP is logged once and let pass (a listener overrides nohup's
 * ignored SIGHUP, so this must not stop the run either); a gone stdout or stderr is not written.
 */
export function outliveTerminal(log: Logger): void {
  if (installed) return;
  installed = true;
  // stdout and stderr (closed-stdout.ts) and the stderr log (log.ts) drop writes to a gone reader.
  keepGoingWhenStdoutCloses();
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
