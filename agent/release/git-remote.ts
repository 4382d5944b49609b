/**
 * What `ship release git --push` asks of and sends to the remote: the tags it has (before anything
 * is committed), and a push whose refusal is said in one line with what this run had done.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { BadInputError, errorMessage } from "../../shared/errors.js";
import { scrubSecrets, shownRemote, urlSecrets } from "../download/redact.js";
import {
  gitConfigVariables,
  isRemoteUrl,
  remoteCredentialSettings,
  remoteForCommandLine,
} from "../sources/git-env.js";
import { ReleaseFailedError } from "./errors.js";

const run = promisify(execFile);

/**
 * The `v*` tags of the remote `--push` goes to. A remote this repository does not have, or cannot
 * reach, failed only at the push, after the manifest commit: exit 1 and a commit left behind
 * ("'origin' does not appear to be a git repository"). Asked before anything is written: a name
 * that is no remote is exit 2 naming `--remote`; one git cannot reach (a URL, a path, a host down)
 * is exit 1, as a push failure.
 */
export async function remoteTags(where: string, remote: string, again: string): Promise<Map<string, string>> {
  const remotes = (await run("git", ["remote"], { cwd: where })).stdout.split("\n").filter((r) => r !== "");
  // git also pushes to a URL or a path given in place of a name.
  if (!remotes.includes(remote) && !/[/:]/.test(remote)) {
    const add = `add it (git remote add ${remote} URL)`;
    throw BadInputError.single(
      "--remote",
      "",
      remotes.length === 0
        ? `${remote}: this repository has no remote to push to: ${add}, or leave out --push; nothing was committed or tagged`
        : `${remote}: this repository has no such remote (it has ${remotes.join(", ")}): pass --remote with one of them, or ${add}; nothing was committed or tagged`,
    );
  }
  try {
    const access = await remoteAccess(where, remote, "url");
    const { stdout } = await run("git", ["ls-remote", "--tags", access.remote, "refs/tags/v*"], {
      cwd: where,
      env: access.env,
      maxBuffer: 64 << 20,
    });
    // Tag → the commit it releases: an annotated tag's `^{}` line (after its own) names the commit.
    const tags = new Map<string, string>();
    for (const m of stdout.matchAll(/^([0-9a-f]+)\trefs\/tags\/(.+?)(\^\{\})?$/gm))
      tags.set(m[2] as string, m[1] as string);
    return tags;
  } catch (error) {
    const said = scrubSecrets(pushFailure(gitErrorText(error)).said, urlSecrets(remote));
    throw new ReleaseFailedError(
      `git ls-remote ${shownRemote(remote)}`,
      `${said}; nothing was committed or tagged: run ${again} once that is fixed`,
    );
  }
}

/**
 * A push the remote refuses (it moved on, a protected branch, a hook) or that cannot reach it was
 * "internal error: To ../origin.git ! HEAD:refs/heads/main [rejected] (fetch first) …" with git's
 * whole hint text, exit 1, and no word of what this run had already done.
 */
export async function pushOrSay(
  where: string,
  remote: string,
  ref: string,
  then: { behind: string; other: string },
): Promise<void> {
  try {
    const access = await remoteAccess(where, remote, "pushurl");
    // --porcelain: a refused ref is said on stdout as `[rejected] (fetch first)`, which pushFailure reads.
    await run("git", ["push", "--porcelain", access.remote, ref], {
      cwd: where,
      env: access.env,
      maxBuffer: 64 << 20,
    });
  } catch (error) {
    const failure = pushFailure(gitErrorText(error));
    const next = failure.behind ? then.behind : then.other;
    // A remote given as a URL (--remote https://user:token@…) lands in CI's log: its secrets masked.
    const said = scrubSecrets(failure.said, urlSecrets(remote));
    throw new ReleaseFailedError(`git push ${shownRemote(remote)} ${ref}`, `${said}; ${next}`);
  }
}

/**
 * How git reaches `remote`: the argument to give it and the environment to run it in. An http(s)
 * remote's user:password (`--remote https://user:TOKEN@…`, or the URL a CI checkout's `origin` was
 * cloned from, as GitLab CI's `https://gitlab-ci-token:TOKEN@…`) goes by a credential helper
 * (git-env.ts), never on a command line: it was on `git push`'s and git-remote-http's, where `ps`
 * showed the token to every local user of the runner. For a named remote, the URLs git reads for
 * `use`: a push's pushurl, when the remote has one, held a token as well. GIT_TERMINAL_PROMPT=0: a
 * remote asking for a password fails instead of waiting on CI.
 */
async function remoteAccess(
  where: string,
  remote: string,
  use: "url" | "pushurl",
): Promise<{ remote: string; env: NodeJS.ProcessEnv }> {
  const configured = async (key: string): Promise<string[]> =>
    run("git", ["config", "--get-all", `remote.${remote}.${key}`], { cwd: where }).then(
      (r) => r.stdout.split("\n").filter((u) => u !== ""),
      () => [],
    );
  // A push goes to the remote's pushurl when it has one (`git remote set-url --push`: a public
  // repository read anonymously, pushed to with a token), else to its url(s).
  const pushUrls = use === "pushurl" && !isRemoteUrl(remote) ? await configured("pushurl") : [];
  const named = isRemoteUrl(remote) ? [] : pushUrls.length > 0 ? pushUrls : await configured("url");
  const credentials = remoteCredentialSettings(remote, named);
  return {
    remote: remoteForCommandLine(remote),
    env: {
      ...process.env,
      GIT_TERMINAL_PROMPT: "0",
      ...credentials.env,
      ...gitConfigVariables(credentials.config, process.env),
    },
  };
}

/** What git said when it failed, on stdout and stderr (execFile's message leads with the whole command line). */
function gitErrorText(error: unknown): string {
  const { stdout, stderr } = error as { stdout?: unknown; stderr?: unknown };
  const said = [stdout, stderr].filter((t): t is string => typeof t === "string").join("\n");
  return said.trim() !== "" ? said : errorMessage(error);
}

function pushFailure(text: string): { said: string; behind: boolean } {
  const rejected = /\[(remote )?rejected\]\s*\(([^)]*)\)/.exec(text);
  if (rejected !== null) {
    const behind = /fetch first|non-fast-forward/.test(rejected[2] ?? "");
    const said = `the remote refused it (${rejected[2]})${behind ? ": it has commits this clone lacks" : ""}`;
    return { said, behind };
  }
  const lines = text.split("\n").map((l) => l.trim());
  const said = lines.find((l) => /^(fatal|error):/.test(l)) ?? lines.find((l) => l !== "") ?? text;
  return { said: said.replace(/^(fatal|error):\s*/, ""), behind: false };
}
