/** Stalling this process as a long synchronous step, a GC pause or a loaded machine does. */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Blocks the event loop for `ms`: no timer, socket or promise of this process runs meanwhile. */
export function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: the point is that nothing else runs
  }
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
