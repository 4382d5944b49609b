/** `ship release interactive`: the seed's `release.sh interactive`, asking on a terminal. */
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { BadInputError } from "../../shared/errors.js";
import { bumpParts, bumpVersion, newestVersionTag } from "./bump.js";
import { normaliseVersion } from "./cli-io.js";

export type InteractivePlan =
  | { method: "git"; version: string; description: string; push: boolean }
  | { method: "http"; version: string; description: string }
  | { method: "sftp"; version: string; description: string; host: string; user: string; remoteDir: string };

const methods = ["git", "http", "sftp"] as const;

/** Asks the questions; undefined when the user declines at the end. */
export async function askReleasePlan(
  dir: string,
  input: Readable,
  output: Writable,
): Promise<InteractivePlan | undefined> {
  const rl = createInterface({ input, output, terminal: false });
  // The line iterator buffers answers typed (or piped) ahead of their question; rl.question drops them.
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (question: string, fallback = ""): Promise<string> => {
    output.write(fallback === "" ? `${question}: ` : `${question} [${fallback}]: `);
    const next = await lines.next();
    if (next.done === true) throw BadInputError.single("stdin", "", `ended with no answer to "${question}"`);
    const answer = String(next.value).trim();
    return answer === "" ? fallback : answer;
  };
  try {
    // http and sftp releases need no git repository; without one there are simply no tags.
    const newest = await newestVersionTag(dir, { outsideRepo: "none" });
    output.write(`newest release tag: ${newest === undefined ? "none" : `v${newest}`}\n`);
    const method = await ask(`method (${methods.join("/")})`, "git");
    if (!(methods as readonly string[]).includes(method))
      throw BadInputError.single(
        "method",
        "",
        `${JSON.stringify(method)} is not one of ${methods.join(", ")}`,
      );
    const bump = await ask(`version: ${bumpParts.join("/")} or an explicit version`, "patch");
    const version = (bumpParts as readonly string[]).includes(bump)
      ? bumpVersion(newest ?? "0.0.0", bump as (typeof bumpParts)[number])
      : normaliseVersion(bump);
    const description = await ask("description");
    let plan: InteractivePlan;
    if (method === "git")
      plan = { method, version, description, push: (await ask("push? (y/n)", "n")) === "y" };
    else if (method === "http") plan = { method, version, description };
    else {
      plan = {
        method: "sftp",
        version,
        description,
        host: await ask("sftp host"),
        user: await ask("sftp user"),
        remoteDir: await ask("remote directory", "/releases"),
      };
    }
    const ok = (await ask(`release ${version} via ${method}? (y/n)`, "n")).toLowerCase() === "y";
    return ok ? plan : undefined;
  } finally {
    rl.close();
  }
}
