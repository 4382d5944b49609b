/**
 * Test-only fault injection: crash-safety tests set SHIP_FAULT=<point> (optionally `<point>@<n>`
 * for the n-th time the point is reached) and the process SIGKILLs itself there, exactly as a power
 * cut or OOM kill would stop it. Without the variable this is a no-op.
 */
const hits = new Map<string, number>();

export function faultPoint(point: string): void {
  const spec = process.env.SHIP_FAULT;
  if (spec === undefined || spec === "") return;
  const [name, nth] = spec.split("@");
  if (name !== point) return;
  const count = (hits.get(point) ?? 0) + 1;
  hits.set(point, count);
  if (count >= Number(nth ?? "1")) process.kill(process.pid, "SIGKILL");
}
