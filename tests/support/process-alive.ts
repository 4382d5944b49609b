import { readFileSync } from "node:fs";

/**
 * The process exists and is not a zombie (kill(pid, 0) also succeeds for zombies, which linger in
 * containers whose init does not reap). Linux /proc; elsewhere kill(pid, 0).
 */
export function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\S+ \(.*\) [ZX]/s.test(stat);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && process.platform === "linux") return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}
