/**
 * `git fetch --progress` on stderr, split in two: the "Receiving objects:  45% (450/1000)" counts
 * go to a progress reporter, and what git says beside them (its errors, which the source reads to
 * say what went wrong) to `rest` as `git fetch --quiet` wrote it. A large fetch (a big push, a
 * long history) used to run for minutes with nothing shown, where http and sftp show a bar; and
 * `--quiet` cannot stay, since it also silences the counts of the objects received.
 */
import { StringDecoder } from "node:string_decoder";
import type { ProgressCallback } from "../download/progress.js";

/**
 * Lines `--quiet` leaves out: progress (git's own, and the server's relayed as `remote: …`), the
 * `From URL` and ref-update lines (` * [new branch]  main -> origin/main`; not ` ! `, a ref git
 * could not update, which is part of a failure), and `gc --auto`'s notice.
 */
const QUIET_LEFT_OUT = [
  /^(?:remote: )?(?:Enumerating objects|Counting objects|Compressing objects|Total \d+ \(delta|Receiving objects|Unpacking objects|Resolving deltas|Checking connectivity|Checking objects|Finding sources)\b/,
  /^From \S/,
  /^ [ +\-t*=] \S/,
  /^Auto packing the repository|^See "git help gc"/,
];

/** The local side's count of the pack's objects (Unpacking for a small pack, Receiving for a large one). */
const OBJECTS = /^(?:Receiving|Unpacking) objects: +\d+% \((\d+)\/(\d+)\)/;

/** Output with no line break at all is no progress: kept, but not held here without bound. */
const MAX_PENDING = 64 * 1024;

export function gitProgressFilter(
  rest: (chunk: Buffer) => void,
  onProgress: ProgressCallback | undefined,
): { push: (chunk: Buffer) => void; end: () => void } {
  // A line may arrive in pieces: what follows the last \r or \n waits for the next chunk.
  const decoder = new StringDecoder("utf8");
  let pending = "";
  // git redraws its line each second with the bytes so far (a large file is one object): each
  // redraw is passed on, so the log shows the fetch alive, but the whole count only once, as a
  // second one would end a bar twice.
  let finished = false;
  const line = (text: string, ending: string) => {
    const counts = OBJECTS.exec(text);
    if (counts !== null) {
      const [done, total] = [Number(counts[1]), Number(counts[2])];
      if (!finished) onProgress?.(done, total);
      finished = done === total;
    } else if (!QUIET_LEFT_OUT.some((pattern) => pattern.test(text)))
      rest(Buffer.from(text + ending, "utf8"));
  };
  return {
    push: (chunk) => {
      pending += decoder.write(chunk);
      const parts = pending.split(/(\r\n|\r|\n)/);
      pending = parts.pop() ?? "";
      for (let i = 0; i + 1 < parts.length; i += 2) line(parts[i] as string, parts[i + 1] as string);
      if (pending.length > MAX_PENDING) {
        rest(Buffer.from(pending, "utf8"));
        pending = "";
      }
    },
    end: () => {
      pending += decoder.end();
      if (pending !== "") line(pending, "");
      pending = "";
    },
  };
}
