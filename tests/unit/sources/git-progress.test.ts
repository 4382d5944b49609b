/**
 * `git fetch --progress` (not --quiet, which silences the counts too): the counts go to the
 * progress reporter, and what is left is what `--quiet` would have written, so the source reads
 * git's errors as before.
 */
import { describe, expect, it } from "vitest";
import { gitProgressFilter } from "../../../agent/sources/git-progress.js";

function filtered(chunks: string[]): { rest: string; counts: [number, number | undefined][] } {
  let rest = "";
  const counts: [number, number | undefined][] = [];
  const filter = gitProgressFilter(
    (chunk) => {
      rest += chunk.toString("utf8");
    },
    (done, total) => counts.push([done, total]),
  );
  for (const chunk of chunks) filter.push(Buffer.from(chunk, "utf8"));
  filter.end();
  return { rest, counts };
}

describe("gitProgressFilter", () => {
  it("reports the objects received, the whole count once, and keeps out every line --quiet leaves out", () => {
    const { rest, counts } = filtered([
      "remote: Enumerating objects: 329, done.        \n",
      "remote: Counting objects:  50% (1/2)   \rremote: Counting objects: 100% (2/2), done.\n",
      "remote: Total 329 (delta 0), reused 0 (delta 0), pack-reused 0        \n",
      "Receiving objects:   0% (1/329)\rReceiving objects:   1% (5/32",
      "9), 480.00 KiB | 395.00 KiB/s\rReceiving objects:   1% (5/329), 923.98 KiB | 381.00 KiB/s\r",
      "Receiving objects: 100% (329/329)\rReceiving objects: 100% (329/329), 2.86 MiB | 416.00 KiB/s, done.\n",
      "Resolving deltas: 100% (2/2), done.\n",
      "From /srv/git/app\n",
      " * [new branch]      main       -> origin/main\n",
      " + 0b12661...e1cf878 main       -> origin/main  (forced update)\n",
      " - [deleted]         (none)     -> origin/old\n",
      "Auto packing the repository in background for optimum performance.\n",
      'See "git help gc" for manual housekeeping.\n',
    ]);
    expect(counts).toEqual([
      [1, 329],
      [5, 329],
      [5, 329],
      [329, 329],
    ]);
    expect(rest).toBe("");
  });

  it("passes git's errors on as written, a ref git could not update included, split chunks and all", () => {
    const error = "fatal: couldn't find remote ref refs/heads/nope\n";
    const rejected = " ! [rejected]        v1.0       -> v1.0  (would clobber existing tag)\n";
    const { rest, counts } = filtered([
      "remote: Counting objects: 100% (2/2), done.\nremote: Repository not found.\n",
      rejected,
      error.slice(0, 10),
      error.slice(10),
      "error: RPC failed; curl 56 GnuTLS recv error (-9)",
    ]);
    expect(counts).toEqual([]);
    expect(rest).toBe(
      `remote: Repository not found.\n${rejected}${error}error: RPC failed; curl 56 GnuTLS recv error (-9)`,
    );
  });

  it("keeps a UTF-8 character split between chunks whole", () => {
    const bytes = Buffer.from("fatal: 'dépôt' does not appear to be a git repository\n", "utf8");
    let rest = "";
    const filter = gitProgressFilter(
      (chunk) => {
        rest += chunk.toString("utf8");
      },
      () => undefined,
    );
    filter.push(bytes.subarray(0, 10));
    filter.push(bytes.subarray(10));
    filter.end();
    expect(rest).toBe(bytes.toString("utf8"));
  });
});
