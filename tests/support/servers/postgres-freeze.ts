/**
 * A database that stops answering, as behind a paused VM or a network that drops packets: the
 * server's postmaster and every process serving one database are stopped (SIGSTOP), so each query
 * and each new connection to it hangs, while other databases' connections already open still work.
 *
 * The postmaster is stopped first and the database's processes are found after, from /proc: a
 * backend forked between a listing and the stop (a pool opening a connection; one still in its
 * start-up is not yet in pg_stat_activity under its database) kept answering, and a hub that was
 * meant to go silent kept writing its heartbeat through it (a CI flake of cluster-mode's watchdog
 * test).
 */
import { readdir, readFile } from "node:fs/promises";
import postgres from "postgres";
import type { PostgresServer } from "./postgres.js";

/** The stopped processes; `thaw()` lets them run again (SIGCONT) and ends the helper connection. */
export interface FrozenDatabase {
  pids: number[];
  thaw(): Promise<void>;
}

const parentOf = async (pid: number): Promise<number | undefined> => {
  // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
};

/**
 * Stops the postmaster of `server` and every child of it that serves `database` (its title,
 * `postgres: USER DATABASE HOST STATE`, names it) or has not set its title yet (a connection still
 * starting: it may be for `database`). Throws if no process of `database` was found: a freeze of
 * nothing would let a test pass for the wrong reason.
 */
export async function freezeDatabase(server: PostgresServer, database: string): Promise<FrozenDatabase> {
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  const stopped: number[] = [];
  const thaw = async () => {
    for (const pid of stopped.splice(0).reverse()) process.kill(pid, "SIGCONT");
    await admin.end();
  };
  try {
    const [row] = await admin`SELECT pg_backend_pid() AS pid`;
    const own = Number(row?.pid);
    const postmaster = await parentOf(own);
    if (postmaster === undefined) throw new Error(`no postmaster found above backend ${own}`);
    process.kill(postmaster, "SIGSTOP");
    stopped.push(postmaster);
    let served = 0;
    for (const entry of await readdir("/proc")) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === own || (await parentOf(pid)) !== postmaster) continue;
      const title = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replace(/\0+/g, " ");
      const words = title.trim().split(/\s+/);
      const serves = words[0] === "postgres:" && words.includes(database);
      if (!serves && words[0] === "postgres:") continue;
      process.kill(pid, "SIGSTOP");
      stopped.push(pid);
      if (serves) served++;
    }
    if (served === 0) throw new Error(`no process of database ${database} to freeze`);
    return { pids: [...stopped], thaw };
  } catch (error) {
    await thaw();
    throw error;
  }
}
