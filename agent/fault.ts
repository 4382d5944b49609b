/**
 * Test-only fault injection: crash-safety tests set SHIP_FAULT=<point> (optionally `<point>@<n>`
 * for the n-th time the point is reached) and the process SIGKILLs itself there, exactly as a power
 * cut or OOM kill would stop it. `<point>[@<n>]:error` throws instead, as a failing disk write
 * would, so tests can prove a failure in the middle of an operation is undone in-process;
 * `<point>[@<n>]:stop` stops the process (SIGSTOP) there until a SIGCONT, as a slow disk or a long
 * copy holds a run in the middle of a step, so tests can see what other commands say meanwhile. Several
 * points may be armed at once, comma-separated (`apply:file@2:error,recover:file:error`).
 * Without the variable this is a no-op.
 */
const hits = new Map<string, number>();
let armed: string | undefined;

export function faultPoint(point: string): void {
  const spec = process.env.SHIP_FAULT;
  if (spec === undefined || spec === "") {
    // Unset in between: the same spec armed again (the next test file in a reused process) counts afresh.
    armed = undefined;
    return;
  }
  // A new spec starts counting afresh, so in-process tests can arm one after another.
  if (spec !== armed) {
    armed = spec;
    hits.clear();
  }
  // Several points, comma-separated: a failure and then one in what undoes it.
  for (const one of spec.split(",")) {
    const [where = "", mode] = one.split(/:(error|stop)$/);
    const [name, nth] = where.split("@");
    if (name !== point) continue;
    const count = (hits.get(point) ?? 0) + 1;
    hits.set(point, count);
    if (count < Number(nth ?? "1")) return;
    if (mode === "error") throw new Error(`injected fault at ${point} (SHIP_FAULT)`);
    process.kill(process.pid, mode === "stop" ? "SIGSTOP" : "SIGKILL");
  }
}
