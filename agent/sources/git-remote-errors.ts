/**
 * What a failed `git fetch` means, in words that name what to change: a missing branch or tag, an
 * unknown remote, a repository that is not there, refused credentials or keys, an untrusted host
 * key, a clone another user owns (bad input, exit 2: no retry fixes them), else a download failure
 * (exit 1, retried). The remote is named as messages show it (shownRemote), credentials masked.
 */
import { stat } from "node:fs/promises";
import { userInfo } from "node:os";
import type { GitSource as GitSourceConfig } from "../../shared/config/schema.js";
import { BadInputError, errorMessage, VerificationError } from "../../shared/errors.js";
import { DownloadError } from "../download/errors.js";
import { scrubSecrets, shownRemote, urlSecrets } from "../download/redact.js";
import { isRemoteUrl, remoteForCommandLine } from "./git-env.js";
import type { RunGit } from "./git-run.js";

export class GitRemoteErrors {
  constructor(
    private readonly name: string,
    private readonly cfg: GitSourceConfig,
    private readonly run: RunGit,
    /** The hub's release tag, when a hub named one. */
    private readonly pinTag?: string,
  ) {}

  /** The error a failed fetch (not its deadline) is reported as. */
  async fetchFailure(err: unknown): Promise<Error> {
    return (
      (await this.missingRefError(err)) ??
      (await this.unknownRemoteError(err)) ??
      (await this.fetchError(err))
    );
  }

  /**
   * `remote` is a name the clone does not have (a typo, or a remote removed): git says "'nope' does
   * not appear to be a git repository", which was exit 1 "download failed" on every run. A retry
   * never fixes it, so it is bad input naming the key and the remotes the clone has. Asked only
   * after a failed fetch: the happy path runs no extra git process.
   */
  private async unknownRemoteError(err: unknown): Promise<Error | undefined> {
    const text = errorMessage(err);
    if (isRemoteUrl(this.cfg.remote) || !/does not appear to be a git repository/.test(text))
      return undefined;
    const remotes = (await this.run(["remote"]).catch(() => "")).split("\n").filter((r) => r !== "");
    if (remotes.includes(this.cfg.remote)) return undefined;
    const known = remotes.length === 0 ? "it has none" : `its remotes: ${remotes.join(", ")}`;
    return BadInputError.single(
      "ship.toml",
      `sources.${this.name}.remote`,
      `the clone at ${this.cfg.local_path} has no remote "${this.cfg.remote}" (${known}); name one of them or give the repository's URL`,
    );
  }

  /**
   * The remote answered but lacks what the config (or the hub's release) names: no branch, or no
   * such tag. That is a wrong value, not a network fault, so it is bad input naming the key, not
   * git's "couldn't find remote ref" behind an exit 1 that a retry would never fix.
   */
  private async missingRefError(err: unknown): Promise<Error | undefined> {
    const text = errorMessage(err);
    const missing = /couldn't find remote ref (\S+)/.exec(text)?.[1];
    if (missing === undefined) return undefined;
    if (missing === `refs/heads/${this.cfg.branch}` && this.cfg.tag === undefined)
      return this.noBranchError();
    const where = await this.shownRemote();
    if (this.pinTag !== undefined && missing === `refs/tags/${this.pinTag}`) {
      return new VerificationError(`git tag ${this.pinTag}`, `the remote ${where} has no such tag`);
    }
    return undefined;
  }

  /**
   * `branch` the remote does not have, with the branch its HEAD names when that is another: a
   * remote whose default branch was renamed (master to main), or an older repository's master
   * under the default branch = "main", said only "has no branch". A `branch` that is one of the
   * remote's tags (`branch = "v2.1.0"`, to pin a release) is said to be one, with the key to use:
   * the default-branch hint alone sent the operator to rename a branch.
   */
  async noBranchError(): Promise<BadInputError> {
    const where = await this.shownRemote();
    const branch = this.cfg.branch;
    const listed = await this.run([
      "ls-remote",
      "--symref",
      remoteForCommandLine(this.cfg.remote),
      "HEAD",
      `refs/tags/${branch}`,
    ]).catch(() => "");
    const head = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(listed)?.[1];
    const isTag = listed.split("\n").some((line) => line.endsWith(`\trefs/tags/${branch}`));
    const hint = isTag
      ? `, but a tag of that name: set tag = "${branch}" to install that tag (or a pattern such as "v*" to follow the newest release tag), in place of branch`
      : head === undefined || head === branch
        ? (await this.isEmptyRemote(listed))
          ? ": the repository is empty (nothing was pushed to it yet)"
          : ""
        : `; its default branch is "${head}" (renamed?): set branch = "${head}" if that is the one to follow`;
    return BadInputError.single(
      "ship.toml",
      `sources.${this.name}.branch`,
      `the remote ${where} has no branch "${branch}"${hint}`,
    );
  }

  /**
   * The branches of the remote a `tag` pattern that matches no tag does match (`tag = "main"`):
   * for a refusal that says which key was meant. Asked only once no tag matched.
   */
  async branchesMatching(pattern: string): Promise<string[]> {
    const listed = await this.run([
      "ls-remote",
      "--heads",
      remoteForCommandLine(this.cfg.remote),
      `refs/heads/${pattern}`,
    ]).catch(() => "");
    return listed
      .split("\n")
      .map((line) => /\trefs\/heads\/(.+)$/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
  }

  /**
   * Whether the remote holds no branch and no tag: a repository created for the app that CI has not
   * pushed to yet read only "has no branch \"main\"", which sends the operator after the branch name.
   * `headListing` is `ls-remote --symref REMOTE HEAD`'s output: a HEAD there means it is not empty.
   */
  private async isEmptyRemote(headListing: string): Promise<boolean> {
    if (headListing.trim() !== "") return false;
    const refs = await this.run([
      "ls-remote",
      "--heads",
      "--tags",
      remoteForCommandLine(this.cfg.remote),
    ]).catch(() => undefined);
    return refs !== undefined && refs.trim() === "";
  }

  private async fetchError(err: unknown): Promise<Error> {
    const text = errorMessage(err);
    const where = await this.shownRemote();
    if (
      /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(
        text,
      )
    ) {
      return new VerificationError(`git remote ${where}`, hostKeyText(text, this.cfg.known_hosts));
    }
    // ssh could not load key_filename (not a key, or encrypted: git's ssh runs in batch mode and
    // cannot ask for a passphrase). A retry never helps: bad input naming the key, not exit 1.
    const loadKey = /Load key "([^"]*)": ([^\n]*)/.exec(text);
    if (loadKey !== null && this.cfg.key_filename !== undefined) {
      return BadInputError.single(
        "ship.toml",
        `sources.${this.name}.key_filename`,
        `ssh cannot use ${loadKey[1]}: ${loadKey[2]?.trim()} (git needs a key without a passphrase)`,
      );
    }
    const ownership = await this.dubiousOwnershipError(text);
    if (ownership !== undefined) return ownership;
    const firstLine = text.split("\n").find((l) => l.trim() !== "") ?? text;
    // git drops user:password@ from the URLs it quotes, not the query: scrub what the remote holds.
    const said = scrubSecrets(firstLine.trim(), urlSecrets(this.cfg.remote));
    const refused = this.refusedError(text, said, where);
    if (refused !== undefined) return refused;
    // Loaded only now: it brings node:http, node:https (tls) and node:net, ~10 ms of every git
    // run's start, before its fetch, for a fetch that failed.
    const { abortedTunnelStatus, gitProxyCredentialsError, proxyStatus, unreachableText } = await import(
      "./git-unreachable.js"
    );
    const aborted = proxyStatus(text) === undefined ? await abortedTunnelStatus(text) : undefined;
    const status = proxyStatus(text) ?? aborted?.status;
    const proxyRefused = gitProxyCredentialsError(text, status, aborted?.offeredSchemes);
    if (proxyRefused !== undefined) return proxyRefused;
    const unreachable = unreachableText(scrubSecrets(text, urlSecrets(this.cfg.remote)), status);
    if (unreachable !== undefined) return new DownloadError(where, unreachable, true);
    return new DownloadError(where, `git fetch failed: ${said}`, true);
  }

  /**
   * The clone belongs to another user than the one ship runs as (the seed's `sudo git clone`, then
   * ship as `ship`): git refuses to work in it. It was exit 1 "download failed: git fetch failed:
   * fatal: detected dubious ownership", on every run, naming nothing to change; no retry heals it.
   */
  private async dubiousOwnershipError(text: string): Promise<BadInputError | undefined> {
    if (!/detected dubious ownership in repository/.test(text)) return undefined;
    const path = this.cfg.local_path;
    const owner = await stat(path).then(
      (s) => `uid ${s.uid}`,
      () => "another user",
    );
    const me = userInfo();
    return BadInputError.single(
      "ship.toml",
      `sources.${this.name}.local_path`,
      `${path} belongs to ${owner}, not to ${me.username} (uid ${me.uid}) that ship runs as, and git refuses to work in a clone another user owns ("detected dubious ownership"): chown -R ${me.username} ${path}, or trust it (as root): git config --system --add safe.directory ${path}`,
    );
  }

  /**
   * The remote answered, and has no repository there or refused who we are: a retry never fixes
   * either, so it is bad input naming the key to change (as a 404 or 401 is for an http source),
   * not "git fetch failed" behind exit 1 on every run. A remote URL (or path) with nothing at it;
   * https credentials refused (headers, or none set); an ssh key the server does not accept.
   */
  private refusedError(text: string, said: string, where: string): BadInputError | undefined {
    const key = (k: string) => `sources.${this.name}.${k}`;
    const lastLine = said.replace(/^fatal: /, "");
    if (
      isRemoteUrl(this.cfg.remote) &&
      /repository '[^']*' not found|does not appear to be a git repository|Repository not found/i.test(text)
    )
      return BadInputError.single(
        "ship.toml",
        key("remote"),
        `${where} has no repository (git: ${lastLine})`,
      );
    if (/Authentication failed|returned error: 40[13]|could not read Username/i.test(text)) {
      const headers = Object.keys(this.cfg.headers);
      if (remoteForCommandLine(this.cfg.remote) !== this.cfg.remote)
        return BadInputError.single(
          "ship.toml",
          key("remote"),
          `${where} refused the credentials in the URL (user:password@ or a token as the user): check or renew them (git: ${lastLine})`,
        );
      return headers.length === 0
        ? BadInputError.single(
            "ship.toml",
            key("remote"),
            `${where} refused the request: it needs credentials; set them in [sources.${this.name}.headers] (git: ${lastLine})`,
          )
        : BadInputError.single(
            "ship.toml",
            key("headers"),
            `${where} refused the credentials sent (headers ${headers.join(", ")}): check or renew them (git: ${lastLine})`,
          );
    }
    // With headers set git follows no redirect (gitEnvironment: the token must not reach another
    // host), and said only "The requested URL returned error: 302", exit 1, on every run.
    const redirect = /returned error: (30[1278])\b/.exec(text);
    if (redirect !== null && Object.keys(this.cfg.headers).length > 0)
      return BadInputError.single(
        "ship.toml",
        key("remote"),
        `${where} redirects (HTTP ${redirect[1]}), and git follows no redirect while [sources.${this.name}.headers] are set, so the token cannot reach another host: set remote to the URL it redirects to (curl -sI on the remote's URL plus /info/refs?service=git-upload-pack shows it as Location)`,
      );
    // OpenSSL builds of git say the first, GnuTLS ones (Debian's) the second; then a name mismatch.
    const tls =
      /SSL certificate problem: [^\n]*|server certificate verification failed[^\n]*|SSL: (?:no alternative )?certificate subject name[^\n]*/.exec(
        text,
      );
    if (tls !== null)
      return BadInputError.single(
        "ship.toml",
        key("remote"),
        `${where}: git cannot verify the server's certificate (${tls[0].trim()}); for a private CA run: git -C ${this.cfg.local_path} config http.sslCAInfo /path/to/ca.pem`,
      );
    if (/Permission denied \(publickey/.test(text))
      return BadInputError.single(
        "ship.toml",
        key("key_filename"),
        `${where} does not accept ${this.cfg.key_filename === undefined ? "ssh's default keys: set key_filename" : `the key ${this.cfg.key_filename}`} (Permission denied (publickey))`,
      );
    return undefined;
  }

  /**
   * The remote as messages name it: a URL as configured (credentials masked); a remote name with
   * the URL the clone gives it (`origin (https://git.example.com/app.git)`), since "origin" alone
   * does not say which server to look at. Asked of git only when a message needs it: the URL as
   * the clone's config writes it, not `remote get-url`, which gives it after the `insteadOf` that
   * takes a clone URL's user:password@ out for the fetch (a message then showed no sign of them).
   */
  async shownRemote(): Promise<string> {
    const remote = this.cfg.remote;
    if (isRemoteUrl(remote)) return shownRemote(remote);
    const url = (await this.run(["config", "--get", `remote.${remote}.url`]).catch(() => "")).trim();
    return url === "" ? remote : `${remote} (${shownRemote(url)})`;
  }
}

/**
 * ssh's refusal of the server's host key, in words that tell the two cases apart: a changed key
 * (the server was reinstalled, or someone is in between) is not fixed by adding a line, as an
 * unknown host is; both were "host key not trusted".
 */
function hostKeyText(sshSaid: string, knownHosts: string | undefined): string {
  const file = knownHosts ?? "ssh's default known_hosts";
  const fingerprint = /(SHA256:[A-Za-z0-9+/]+)/.exec(sshSaid)?.[1];
  const presented = fingerprint === undefined ? "" : ` (the server presented ${fingerprint})`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(sshSaid)) {
    const line = /Offending \S+ key in (\S+):(\d+)/.exec(sshSaid);
    const where = line === null ? file : `${line[1]}, line ${line[2]}`;
    return `HOST KEY MISMATCH: the server's host key is not the one in ${where}${presented} (reinstalled, or a man-in-the-middle?); check the fingerprint with the server's admin, then replace that line`;
  }
  const host = /host key is known for (\S+)/i.exec(sshSaid)?.[1];
  return `host key not trusted: ${host ?? "the host"} is not in ${file}${presented}; add its key there (ssh-keyscan) after checking it. StrictHostKeyChecking is always on`;
}
