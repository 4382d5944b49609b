/** Stalling this process as a long synchronous step, a GC pause or a loaded machine does. */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

const asleep = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the event loop for `ms`: no timer, socket or promise of this process runs meanwhile. The
 * thread sleeps in Atomics.wait (nothing ever wakes it) rather than spinning: a busy loop burnt a
 * core of the two the suite's forks share for every stall (10 s in each ping test file), and took
 * it from the peer processes these tests wait on, while to this process's event loop the two are
 * the same.
 */
export function stall(ms: number): void {
  const end = Date.now() + ms;
  for (let left = ms; left > 0; left = end - Date.now()) Atomics.wait(asleep, 0, 0, left);
}

export interface LatePongPeer {
  child: ChildProcess;
  /** What it said so far ("ping", "open", "closed", "port N"). */
  lines: string[];
  /** Pings it answered. */
  pings(): number;
  stop(): void;
}

const PEER = new URL("./late-pong-peer.mjs", import.meta.url).pathname;

/**
 * tests/support/late-pong-peer.mjs in a process of its own; `onLine` runs in this process on each
 * line it says (in a stdout callback: the poll phase, as a long message handler would be): "ping"
 * when its pong is 100 ms away, "open" when its hello is.
 */
export function latePongPeer(args: string[], onLine: (line: string) => void = () => undefined): LatePongPeer {
  const child = spawn(process.execPath, [PEER, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    onLine(line);
  });
  return {
    child,
    lines,
    pings: () => lines.filter((line) => line === "ping").length,
    stop: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
