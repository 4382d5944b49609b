/**
 * Whether this process started the daemon. The bin sends every command line holding the word
 * `agent` to the agent's bundle — `ship --test-manifest agent` or `--sources agent` too — and that
 * bundle's code cache, written once and then used as it is, must hold what a started daemon
 * compiled: one written by such a command left every later `ship agent` compiling the daemon.
 */
let started = false;
let up = false;
const whenUp: (() => void)[] = [];

export function noteDaemonStarted(): void {
  started = true;
}

export function daemonStarted(): boolean {
  return started;
}

/**
 * The daemon announced itself to the hub: its start is compiled (config, recovery, the connection,
 * the hello). The bin writes the code cache then, not only when the daemon exits 0: under systemd
 * it ends mostly otherwise — exit 75 for an edited ship.toml, SIGKILL at TimeoutStopSec, a crash —
 * and each such start compiled the whole daemon again, for ever. Early too because weeks of running
 * let V8 flush the bytecode of the start's functions, which a cache made at the stop then lacks (the
 * hub's `serve` writes its cache once it listens, for both reasons).
 */
export function noteDaemonUp(): void {
  if (up) return;
  up = true;
  for (const listener of whenUp.splice(0)) listener();
}

/** Calls `listener` once the daemon first announced itself to the hub (at once if it already did). */
export function whenDaemonUp(listener: () => void): void {
  if (up) listener();
  else whenUp.push(listener);
}
