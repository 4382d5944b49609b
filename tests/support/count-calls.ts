/**
 * How many times `method` of a real object is called while `during` runs: the object still does
 * its work (the call goes through), only counted. For checks that a path stopped repeating a cost
 * (a store read per request), where timing it against a baseline flaked on loaded CI machines.
 */
export async function countCalls<T extends object, K extends keyof T>(
  target: T,
  method: K,
  during: () => Promise<void>,
): Promise<number> {
  const original = target[method];
  if (typeof original !== "function") throw new Error(`${String(method)} is not a method`);
  let calls = 0;
  target[method] = ((...args: unknown[]) => {
    calls++;
    return (original as (...a: unknown[]) => unknown).apply(target, args);
  }) as T[K];
  try {
    await during();
  } finally {
    target[method] = original;
  }
  return calls;
}
