/**
 * The CPU time this process spent while `run` ran, in ms: what a "stays fast" bound should hold
 * work to. Not the wall clock: on a loaded CI machine (2 cores, the whole suite in parallel) the
 * process waits for a core, and that wait is not work the code under test did.
 */
export function cpuMsOf<T>(run: () => T): { value: T; cpuMs: number } {
  const before = process.cpuUsage();
  const value = run();
  const used = process.cpuUsage(before);
  return { value, cpuMs: (used.user + used.system) / 1000 };
}

/** cpuMsOf for asynchronous work; everything else this process runs meanwhile is counted too. */
export async function cpuMsDuring<T>(run: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const before = process.cpuUsage();
  const value = await run();
  const used = process.cpuUsage(before);
  return { value, cpuMs: (used.user + used.system) / 1000 };
}
