/**
 * The actions behind `ship release ...` (agent/cli/release-command.ts registers them): each takes
 * parsed options, prints for a person (or JSON), and throws ShipErrors the CLI turns into exit codes.
 */

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { basename, dirname, join, posix, resolve } from "node:path";
import { promisify } from "node:util";
import { appNameProblem } from "../../shared/app-name.js";
import { caCertificateProblem } from "../../shared/ca-certificates.js";
import { BadInputError } from "../../shared/errors.js";
import { readableByOthersNote } from "../../shared/file-permissions.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { readManifestText } from "../../shared/manifest/load.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { readNamedFile } from "../../shared/named-file.js";
import { textStart } from "../../shared/text-cut.js";
import {
  isVersionLike,
  MAX_VERSION_LENGTH,
  MAX_VERSION_MESSAGE,
  ONE_WORD_VERSION,
  ONE_WORD_VERSION_MESSAGE,
} from "../../shared/versions.js";
import { PROGRESS_DELAY_MS, progressReporter } from "../download/progress.js";
import { redactUrl } from "../download/redact.js";
import { archiveManifestName, checkReleaseArchive, readManifestFromArchive } from "./archive-manifest.js";
import { archiveName, type BuiltArchive, buildReleaseArchive } from "./build-archive.js";
import { type BumpPart, nextVersion } from "./bump.js";
import { appNameFrom, normaliseVersion, type ReleaseIo } from "./cli-io.js";
import { releaseGit } from "./git-release.js";
import { releaseDate, writeStarterManifest } from "./manifest-template.js";
import { checkOutDir, checkOutFile } from "./out-paths.js";
import {
  checkHubUrl,
  type PublishedRelease,
  type PublishSource,
  publishRelease,
  readToken,
} from "./publish.js";
import { readManifestInput, readSignatureInput } from "./read-input.js";
import { sayManifestWarnings, sayWarning } from "./said-warnings.js";
import {
  checkLatestName,
  checkUploadKey,
  checkUploadKnownHosts,
  expandHome,
  uploadRelease,
} from "./sftp-upload.js";
import { signArtifact, writeKeyPair } from "./sign-artifact.js";
import { unignoredInWorkTree, unignoredOutputNote } from "./unignored-output.js";

const execFileAsync = promisify(execFile);

export interface CommonOptions {
  dir: string;
  json: boolean;
  io: ReleaseIo;
  env?: NodeJS.ProcessEnv;
}

function report(o: CommonOptions, result: unknown, lines: string[]): void {
  if (o.json) o.io.out(JSON.stringify(result, null, 2));
  else for (const line of lines) o.io.out(line);
}

export function checkedVersion(raw: string): string {
  // " 2.0.0" was written into the new manifest, which --test-manifest then refused.
  if (!ONE_WORD_VERSION.test(raw))
    throw BadInputError.single(JSON.stringify(textStart(raw, 40)), "VERSION", ONE_WORD_VERSION_MESSAGE);
  const version = normaliseVersion(raw);
  // Said before anything is built: it names the archive, whose name a file system bounds.
  if (version.length > MAX_VERSION_LENGTH)
    throw BadInputError.single(`${textStart(raw, 40)}…`, "VERSION", MAX_VERSION_MESSAGE);
  if (!isVersionLike(version)) throw BadInputError.single(raw, "VERSION", "is not a version (e.g. 1.2.3)");
  return version;
}

/** `--app` as given, checked by the hub's rule: it names the archive and its folder, so `..` or `/` would escape `--out`. */
export function checkedApp(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const problem = appNameProblem(raw);
  if (problem !== undefined)
    throw BadInputError.single("--app", "", `${JSON.stringify(raw.slice(0, 100))} ${problem}`);
  return raw;
}

export async function manifestAction(
  o: CommonOptions,
  version: string,
  opts: { force?: boolean; out?: string; app?: string; description?: string },
): Promise<void> {
  const path = resolve(o.dir, opts.out ?? MANIFEST_FILENAME);
  const fields = {
    version: checkedVersion(version),
    description: opts.description,
    releaseDate: releaseDate(o.env),
  };
  const app = checkedApp(opts.app) ?? appNameFrom(resolve(o.dir));
  // Said as bad input naming --out: a directory was "already exists; pass --force", and --force then
  // "cannot open …: is a directory (EISDIR)", exit 1 like a failed update, as was a missing directory.
  await checkOutFile("--out", path, posix.join(opts.out ?? ".", MANIFEST_FILENAME));
  await writeStarterManifest(path, { ...fields, app }, opts.force === true).catch((e: unknown) => {
    const code = errnoCode(e);
    if (code === "EACCES" || code === "EPERM" || code === "EROFS")
      throw BadInputError.single("--out", path, `cannot be written: ${fsErrorText(e)}`);
    throw e;
  });
  report(o, { path, version: fields.version }, [
    `wrote ${path} (version ${fields.version}); edit it, then commit it`,
  ]);
}

export async function bumpAction(o: CommonOptions, part: BumpPart): Promise<void> {
  const { from, next } = await nextVersion(o.dir, part);
  // Plain output is just the version so CI can capture it: VERSION=$(ship release bump patch)
  report(o, { from: from ?? null, next }, [next]);
}

/** A `--remote` URL with a password, a query, or a user that is no ssh login (`https://TOKEN@…`). */
function remoteHoldsSecrets(remote: string): boolean {
  if (!URL.canParse(remote)) return false;
  const url = new URL(remote);
  return url.password !== "" || url.search !== "" || (url.username !== "" && url.protocol !== "ssh:");
}

export async function gitAction(
  o: CommonOptions,
  version: string,
  description: string,
  opts: { push?: boolean; remote?: string; allowPrivateKey?: string[] },
): Promise<void> {
  const { allowPrivateKey, ...rest } = opts;
  const r = await releaseGit({
    repoDir: o.dir,
    version: checkedVersion(version),
    description,
    ...rest,
    allowPrivateKeys: allowPrivateKey ?? [],
  });
  sayManifestWarnings(o, r.warnings ?? []);
  const lines =
    r.unchanged === true
      ? [
          `unchanged ${r.tag}: it already releases ${version} at ${r.commit}, with this tree and description; nothing was committed or tagged`,
          r.pushed ? `the remote has ${r.tag}` : `push with: git push origin ${r.tag}`,
        ]
      : [
          r.committed
            ? `committed ${MANIFEST_FILENAME} for ${version}`
            : `${MANIFEST_FILENAME} already up to date`,
          `tagged ${r.tag} at ${r.commit}`,
          r.pushed
            ? `pushed HEAD and ${r.tag}`
            : // A detached HEAD has no branch to push; the tag carries its commit.
              `push with: ${r.detached ? "" : "git push && "}git push origin ${r.tag}`,
        ];
  // ship hands them to git by a credential helper, but its own command line held them all along.
  if (opts.remote !== undefined && remoteHoldsSecrets(opts.remote)) {
    sayWarning(
      o,
      "--remote holds credentials, which every local user can read in the process list (ps) while ship runs; give them to the repository's remote instead (git remote set-url origin URL): ship passes them to git by a credential helper, never on a command line",
    );
  }
  if (r.root !== undefined)
    o.io.err(
      `note: released the repository at ${r.root}, its work tree's top: a tag holds all of it, and agents following the tag read ${r.root}/${MANIFEST_FILENAME}`,
    );
  if (r.newerTag !== undefined)
    o.io.err(
      `note: ${r.newerTag} releases a higher version; agents following tag = "v*" install the newest tag, so they will not take ${r.tag}`,
    );
  const unchanged = r.unchanged === true;
  report(o, { tag: r.tag, commit: r.commit, committed: r.committed, pushed: r.pushed, unchanged }, lines);
}

export interface BuildCliOptions {
  include?: string[];
  allowPrivateKey?: string[];
  app?: string;
  out?: string;
}

/** Progress of long release work: a bar on a terminal, a plain stderr line every 5 s otherwise. */
function progressReporterFor(o: CommonOptions, label: string, action: string) {
  return progressReporter({
    label,
    action,
    delayMs: PROGRESS_DELAY_MS,
    ...(o.io.stream === undefined ? {} : { stream: o.io.stream }),
    line: (text) => o.io.err(text),
  });
}

async function build(o: CommonOptions, version: string, description: string, opts: BuildCliOptions) {
  const app = checkedApp(opts.app) ?? appNameFrom(resolve(o.dir));
  await checkOutDir("--out", resolve(o.dir, opts.out ?? "."));
  const built = await buildReleaseArchive({
    sourceDir: o.dir,
    app,
    version: checkedVersion(version),
    description,
    include: opts.include,
    allowPrivateKeys: opts.allowPrivateKey ?? [],
    outDir: resolve(o.dir, opts.out ?? "."),
    env: o.env,
    onProgress: progressReporterFor(o, archiveName(app, checkedVersion(version)), "packing"),
  });
  sayManifestWarnings(o, built.warnings);
  if (built.starterManifest)
    o.io.err(`note: no ${MANIFEST_FILENAME} in ${o.dir}; the archive carries the starter`);
  if (built.leftOut.length > 0) o.io.err(leftOutNote(built.leftOut));
  if (built.earlierOutputs.length > 0) o.io.err(earlierOutputsNote(app, built.earlierOutputs));
  if (built.stored)
    o.io.err(
      "note: stored uncompressed (gzip level 0): its files compress so well (zeros, a sparse image) that agents would refuse it compressed as a decompression bomb",
    );
  if (await unignoredInWorkTree(built.path)) o.io.err(unignoredOutputNote(built.path));
  return { app, built };
}

/** The first few paths, then a count of the rest. */
function fewPaths(paths: readonly string[]): string {
  const more = paths.length > 5 ? ` and ${paths.length - 5} more` : "";
  return `${paths.slice(0, 5).join(", ")}${more}`;
}

/** One line naming what the manifest kept out of the archive. */
function leftOutNote(paths: readonly string[]): string {
  return `note: left out of the archive, as ${MANIFEST_FILENAME} skips or protects them (agents never install them): ${fewPaths(paths)}`;
}

/** One line naming the earlier outputs of `ship release` found in the source and not packed. */
function earlierOutputsNote(app: string, paths: readonly string[]): string {
  return `note: left out of the archive, as outputs of an earlier ship release of ${app}: ${fewPaths(paths)}`;
}

function archiveLines(built: BuiltArchive): string[] {
  if (built.unchanged)
    return [
      `unchanged ${built.path}: it already holds these bytes (sha256 ${built.sha256}), built again from the same input`,
      `wrote ${built.checksumPath}`,
    ];
  return [`built ${built.path} (${built.size} bytes)`, `wrote ${built.checksumPath}`];
}

/**
 * What an https source's ship.toml takes. A pinned sha256 fits a url that names this one archive;
 * at a url every release replaces (the seed's latest.tar.gz) it refuses the next release as a
 * checksum mismatch, so that case points checksum at the .sha256 published beside the archive.
 */
function httpConfigLines(built: BuiltArchive): string[] {
  const name = basename(built.path);
  return [
    `for ship.toml, with a url that names this archive (…/${name}):`,
    `checksum = "sha256:${built.sha256}"`,
    `with a url every release replaces (…/latest.tar.gz): publish ${basename(built.checksumPath)} beside it as that url + ".sha256", and`,
    `checksum = "https://…/latest.tar.gz.sha256"`,
  ];
}

/**
 * What an sftp source's ship.toml takes. The stable --latest name is replaced by every release, so
 * a checksum pinned to it would refuse the next one: none is printed, and the agent checks the
 * `.sha256` switched with it. A versioned remote_path holds this archive for good and may be pinned.
 */
function sftpConfigLines(
  built: BuiltArchive,
  archivePath: string | undefined,
  latestPath: string | undefined,
): string[] {
  if (latestPath !== undefined)
    return [
      "for ship.toml:",
      `remote_path = "${latestPath}"`,
      `# no checksum: each release replaces ${basename(latestPath)}; agents verify it against ${basename(latestPath)}.sha256, switched with it`,
    ];
  return [
    "for ship.toml (this release only: the next one has another remote_path and checksum; --latest NAME gives agents one name to watch):",
    ...(archivePath === undefined ? [] : [`remote_path = "${archivePath}"`]),
    `checksum = "sha256:${built.sha256}"`,
  ];
}

export async function httpAction(
  o: CommonOptions,
  version: string,
  description: string,
  opts: BuildCliOptions,
) {
  const { app, built } = await build(o, version, description, opts);
  report(o, { app, path: built.path, sha256: built.sha256, size: built.size }, [
    ...archiveLines(built),
    ...httpConfigLines(built),
  ]);
}

export interface SftpCliOptions extends BuildCliOptions {
  key?: string;
  port?: number;
  knownHosts?: string;
  latest?: string;
  /** Ed25519 release key: ARCHIVE.sig is written and uploaded beside the archive (and --latest). */
  signKey?: string;
}

export async function sftpAction(
  o: CommonOptions,
  args: { version: string; description: string; host: string; user: string; remoteDir: string },
  given: SftpCliOptions,
): Promise<void> {
  // Relative to -C, as every other path of `ship release` (sign --key, --out): these two alone were
  // read from the working directory, so `-C app sftp … --key deploy.key` looked beside, not in, app.
  const inDir = (p: string | undefined) => (p === undefined ? undefined : resolve(o.dir, expandHome(p)));
  const opts = { ...given, key: inDir(given.key), knownHosts: inDir(given.knownHosts) };
  // A bad --latest is refused before anything is built or uploaded.
  if (opts.latest !== undefined) checkLatestName(opts.latest);
  await checkUploadKey(opts.key);
  await checkUploadKnownHosts(opts.knownHosts);
  const { app, built } = await build(o, args.version, args.description, opts);
  // Agents with [trust] keys read `<remote_path>.sig` beside the file they watch: a release
  // uploaded here had no way to carry one, so every such agent refused it as unsigned.
  const signed = opts.signKey === undefined ? undefined : await signBuilt(o, app, built.path, opts.signKey);
  const { uploaded, latest } = await uploadRelease(
    {
      host: args.host,
      port: opts.port,
      username: args.user,
      remoteDir: args.remoteDir,
      keyFile: opts.key,
      knownHostsFile: opts.knownHosts,
    },
    checkedVersion(args.version),
    [built.path, built.checksumPath, ...(signed === undefined ? [] : [signed.path])],
    {
      ...(opts.latest === undefined ? {} : { latest: opts.latest }),
      ...(signed === undefined ? {} : { signature: signed.path }),
      progressOf: (name) => progressReporterFor(o, name, "uploading"),
    },
  );
  const lines = [
    ...archiveLines(built),
    ...(signed === undefined ? [] : [signed.line]),
    ...uploaded.map((u) =>
      u.unchanged
        ? `unchanged ${u.remotePath}: the server already holds these bytes (sha256 ${u.sha256}): nothing uploaded`
        : `uploaded ${u.remotePath} (${u.size} bytes, sha256 verified on the server)`,
    ),
    ...(latest === undefined
      ? []
      : [`switched ${latest.remotePath} → ${basename(latest.target)} (${latest.how}, atomic rename)`]),
    ...sftpConfigLines(built, uploaded[0]?.remotePath, latest?.remotePath),
  ];
  report(o, { app, sha256: built.sha256, uploaded, ...(latest === undefined ? {} : { latest }) }, lines);
}

/** `ship release sign ARCHIVE --key KEY --app APP` for a just-built archive: ARCHIVE.sig beside it. */
async function signBuilt(
  o: CommonOptions,
  app: string,
  artifact: string,
  key: string,
): Promise<{ path: string; line: string }> {
  const privateKeyPath = resolve(o.dir, key);
  const { signature, path } = await signArtifact({
    artifact,
    privateKeyPath,
    app,
    dir: o.dir,
    builtHere: true,
  });
  await warnReadableByOthers(
    o,
    "--sign-key",
    privateKeyPath,
    "can sign releases every agent that trusts the key installs",
  );
  return { path, line: `signed ${app} ${signature.payload.version} with key ${signature.keyId}: ${path}` };
}

export async function keygenAction(o: CommonOptions, opts: { out?: string }): Promise<void> {
  await checkOutDir("--out", resolve(o.dir, opts.out ?? "."));
  const keys = await writeKeyPair(resolve(o.dir, opts.out ?? "."));
  if (await committableInGit(keys.privateKeyPath))
    o.io.err(
      `note: ${keys.privateKeyPath} is inside a git work tree and not ignored: add it to .gitignore or move it out (ship release refuses to pack or tag a private key)`,
    );
  report(o, keys, [
    `private key: ${keys.privateKeyPath} (mode 600; keep it in your CI's secret store, never in git)`,
    `public key:  ${keys.publicKeyPath} (key id ${keys.keyId})`,
    `copy ${keys.publicKeyPath} to /etc/ship/${basename(keys.publicKeyPath)} on every server; in ship.toml: [trust] key_files = ["/etc/ship/${basename(keys.publicKeyPath)}"]`,
  ]);
}

export async function signAction(
  o: CommonOptions,
  artifact: string | undefined,
  opts: {
    key: string;
    manifest?: string;
    app?: string;
    version?: string;
    gitCommit?: string;
    out?: string;
    allowPrivateKey?: string[];
  },
): Promise<void> {
  if (artifact !== undefined && opts.gitCommit !== undefined)
    throw BadInputError.single(
      "ARTIFACT",
      "",
      "and --git-commit: give one (a git release's signature reads no archive)",
    );
  refuseUnread(opts.gitCommit !== undefined ? "--git-commit" : "ARTIFACT", [
    ["--allow-private-key", opts.allowPrivateKey, ["ARTIFACT"]],
  ]);
  const at = (p: string | undefined) => (p === undefined ? undefined : resolve(o.dir, p));
  const privateKeyPath = resolve(o.dir, opts.key);
  if (opts.out !== undefined) {
    const named = artifact === undefined ? "APP-VERSION.git.sig" : `${basename(artifact)}.sig`;
    await checkOutFile("--out", resolve(o.dir, opts.out), posix.join(opts.out, named));
  }
  const { signature, path, notes, warnings } = await signArtifact({
    artifact: at(artifact),
    privateKeyPath,
    manifestPath: at(opts.manifest),
    app: checkedApp(opts.app),
    version: opts.version === undefined ? undefined : checkedVersion(opts.version),
    gitCommit: opts.gitCommit,
    out: at(opts.out),
    dir: o.dir,
    allowPrivateKeys: opts.allowPrivateKey ?? [],
  });
  // A warning, not a refusal (as the hub's JWT secret): a CI runner is often one user, and a key
  // written with `echo > key.pem` is 644 there. On a shared machine it is whoever reads it who signs.
  await warnReadableByOthers(
    o,
    "--key",
    privateKeyPath,
    "can sign releases every agent that trusts the key installs",
  );
  sayManifestWarnings(o, warnings);
  for (const note of notes) o.io.err(note);
  if (await unignoredInWorkTree(resolve(o.dir, path)))
    o.io.err(
      unignoredOutputNote(
        resolve(o.dir, path),
        `give --out a file outside the tree, or in a directory .gitignore names (--out dist/${basename(path)})`,
      ),
    );
  const p = signature.payload;
  report(o, { path, signature }, [`signed ${p.app} ${p.version} with key ${signature.keyId}: ${path}`]);
}

export interface PublishCliOptions {
  hub: string;
  token?: string;
  tokenFile?: string;
  app: string;
  version: string;
  artifact?: string;
  url?: string;
  sha256?: string;
  remotePath?: string;
  gitCommit?: string;
  gitTag?: string;
  manifest?: string;
  signature?: string;
  caFile?: string;
  allowPrivateKey?: string[];
}

function publishSource(o: CommonOptions, p: PublishCliOptions): PublishSource {
  const given = [p.artifact, p.url, p.remotePath, p.gitCommit].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw BadInputError.single("--artifact", "", "or --url, --remote-path, --git-commit: give exactly one");
  }
  refuseUnread(
    p.artifact !== undefined
      ? "--artifact"
      : p.url !== undefined
        ? "--url"
        : p.remotePath !== undefined
          ? "--remote-path"
          : "--git-commit",
    [
      ["--sha256", p.sha256, ["--url", "--remote-path"]],
      ["--git-tag", p.gitTag, ["--git-commit"]],
      ["--allow-private-key", p.allowPrivateKey, ["--artifact"]],
    ],
  );
  if (p.artifact !== undefined) return { kind: "artifact", path: resolve(o.dir, p.artifact) };
  if (p.url !== undefined || p.remotePath !== undefined) {
    if (p.sha256 === undefined || !/^[0-9a-fA-F]{64}$/.test(p.sha256)) {
      const flag = p.url !== undefined ? "--url" : "--remote-path";
      throw BadInputError.single("--sha256", "", `is required with ${flag} (64 hex digits)`);
    }
    if (p.url !== undefined) return { kind: "url", url: urlWithoutCredentials(p.url), sha256: p.sha256 };
    return { kind: "sftp", remotePath: p.remotePath as string, sha256: p.sha256 };
  }
  return { kind: "git", commit: p.gitCommit as string, ...(p.gitTag === undefined ? {} : { tag: p.gitTag }) };
}

/**
 * A flag only some kinds of release read, given with another kind: `publish --artifact A --sha256 X`
 * (the hub's own sha256 of the upload was used), `--git-tag` without `--git-commit`, a git signature
 * written for `sign ARCHIVE --git-commit` — each was ignored without a word. Bad input, naming it.
 */
function refuseUnread(kind: string, flags: [flag: string, value: unknown, readBy: string[]][]): void {
  for (const [flag, value, readBy] of flags) {
    if (value === undefined || readBy.includes(kind)) continue;
    throw BadInputError.single(flag, "", `applies to ${readBy.join(", ")}, not to ${kind}: leave it out`);
  }
}

/**
 * A `user:password@` in `--url` is refused here, not sent: the hub refuses it too (it would hand the
 * password to every agent), but only after the password reached it. Never echoed.
 */
function urlWithoutCredentials(url: string): string {
  if (URL.canParse(url)) {
    const parsed = new URL(url);
    if (parsed.username !== "" || parsed.password !== "")
      throw BadInputError.single(
        "--url",
        "",
        "must not contain credentials (user:password@): agents fetch it with their own [sources.APP.headers]; use a URL that needs none of its own, or a presigned one",
      );
  }
  return url;
}

/** The release as CI's log shows it (--json): a presigned URL's query values are its signature. */
function shownRelease(published: PublishedRelease): PublishedRelease {
  const { source } = published;
  if (source.type !== "http" && source.type !== "https") return published;
  return { ...published, source: { ...source, url: redactUrl(source.url) } };
}

async function publishManifest(
  o: CommonOptions,
  p: PublishCliOptions,
  source: PublishSource,
): Promise<{ text: string; file: string }> {
  // The hub keeps the archive and sends it to every agent: one holding a private key is refused.
  const keys = { allowPrivateKeys: p.allowPrivateKey ?? [], what: "published" };
  if (p.manifest !== undefined) {
    const file = resolve(o.dir, p.manifest);
    const text = await readManifestInput(file, "--manifest");
    if (source.kind === "artifact") await checkReleaseArchive(source.path, keys);
    return { text, file };
  }
  if (source.kind === "artifact")
    return { text: await readManifestFromArchive(source.path, keys), file: archiveManifestName(source.path) };
  const file = join(o.dir, MANIFEST_FILENAME);
  if (!existsSync(file))
    throw BadInputError.single("--manifest", "", `is required: no ${MANIFEST_FILENAME} in ${resolve(o.dir)}`);
  return { text: await readManifestText(file), file };
}

export async function publishAction(o: CommonOptions, p: PublishCliOptions): Promise<void> {
  const hubUrl = checkHubUrl(p.hub);
  checkedApp(p.app);
  const source = publishSource(o, p);
  // Relative to -C, as --artifact, --manifest and --signature beside it: it alone was read from the
  // working directory, and `-C app publish --token-file ci.token` looked for the token beside app.
  const token = await readToken(p.token, p.tokenFile === undefined ? undefined : resolve(o.dir, p.tokenFile));
  const manifest = await publishManifest(o, p, source);
  const signatureText =
    // An empty file is a failed `sign` step, not "unsigned": said as such, naming the flag and file.
    p.signature === undefined
      ? undefined
      : await readSignatureInput(resolve(o.dir, p.signature), "--signature");
  const caFile = p.caFile === undefined ? undefined : resolve(o.dir, p.caFile);
  // Read now so a missing or empty file is named as the flag, before any upload.
  if (caFile !== undefined) {
    const by = { file: "--ca-file", key: "" };
    const problem = caCertificateProblem(caFile, await readNamedFile(caFile, by, { nonEmpty: true }));
    if (problem !== undefined) throw BadInputError.single(by.file, by.key, problem);
  }
  // Once the inputs hold, so that a refusal stays one line. A warning, not a refusal: CI scripts pass it so. A command line is readable by every local user.
  if (p.token !== undefined) {
    sayWarning(
      o,
      "--token puts the ci token in the process list (ps), where every local user can read it; use --token-file (chmod 600) instead",
    );
  }
  const published = await publishRelease({
    hubUrl,
    token,
    app: p.app,
    version: checkedVersion(p.version),
    source,
    manifestText: manifest.text,
    manifestFile: manifest.file,
    ...(signatureText === undefined ? {} : { signatureText }),
    onProgress: progressReporterFor(o, `${p.app} ${p.version}`, "uploading"),
    ...(caFile === undefined ? {} : { caFile }),
  });
  for (const warning of published.warnings) sayWarning(o, warning);
  const signed = signatureText === undefined ? "unsigned" : "signed";
  report(o, shownRelease(published), [
    published.alreadyPublished
      ? `${p.app} ${published.version} (${signed}) was published already as release ${published.id}, with the same manifest, source and signature: nothing changed`
      : `published ${p.app} ${published.version} (${signed}) as release ${published.id}`,
  ]);
}

async function warnReadableByOthers(
  o: CommonOptions,
  flag: string,
  path: string,
  what: string,
): Promise<void> {
  const note = await readableByOthersNote(path, what);
  if (note !== undefined) o.io.err(`warning: ${flag}: ${note}`);
}

/** Whether `path` lies in a git work tree and git does not ignore it (`git check-ignore` exits 1). */
async function committableInGit(path: string): Promise<boolean> {
  try {
    await execFileAsync("git", ["check-ignore", "-q", "--", basename(path)], { cwd: dirname(path) });
    return false; // exit 0: ignored
  } catch (error) {
    // 1: not ignored; 128: not a work tree (or no git): nothing to warn about.
    return (error as { code?: unknown }).code === 1;
  }
}
