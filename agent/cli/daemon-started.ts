/**
 * Whether this process started the daemon. The bin sends every command line holding the word
 * `agent` to the agent's bundle — `ship --test-manifest agent` or `--sources agent` too — and that
 * bundle's code cache, written once and then used as it is, must hold what a started daemon
 * compiled: one written by such a command left every later `ship agent` compiling the daemon.
 */
let started = false;

export function noteDaemonStarted(): void {
  started = true;
}

export function daemonStarted(): boolean {
  return started;
}
