/**
 * `ship release ...`: the release helper for CI (the seed's release.sh). Registered by main.ts;
 * the work lives in agent/release/, this file only maps arguments to it and errors to exit codes.
 */
import { Stats, statSync } from "node:fs";
import { Argument, type Command, CommanderError, InvalidArgumentError } from "commander";
import { notationProblem } from "../../dashboard/src/number-notation.js";
import { allCommands, commandPath, sayUsageErrorsInOneLine } from "../../shared/cli/usage-lines.js";
import { BadInputError, ExitCode } from "../../shared/errors.js";
import { fsErrorText } from "../../shared/fs-errors.js";
import { bumpParts } from "../release/bump.js";
import type * as actions from "../release/cli-actions.js";
import { processIo, type ReleaseIo } from "../release/cli-io.js";
import { exitCodeFor, messageFor } from "./exit-codes.js";
import { jsonFailureText } from "./json-failure.js";

type Actions = typeof actions;
/** The actions load git, HTTP and SFTP clients: only when a release subcommand actually runs. */
type Run = (common: actions.CommonOptions, loaded: Actions) => Promise<void>;

/** Usage errors exit 2 (bad input), as every other ship command does; help and --version exit 0. */
function usageExit(error: CommanderError): never {
  throw error.exitCode === 0 ? error : new CommanderError(ExitCode.badInput, error.code, error.message);
}

/**
 * `--include` and `--allow-private-key` take one path each and may be repeated (`--include src
 * --include lib`): a flag that took every value up to the next option swallowed VERSION and
 * DESCRIPTION when written before them. A second path after one flag is then an argument too many;
 * the error says how to give it.
 */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function explainRepeatableOptions(cmd: Command): void {
  cmd.configureOutput({
    outputError: (text, write) => {
      const given = cmd.options.filter(
        (o) => REPEATABLE.has(o.long ?? "") && listOption(cmd, o.attributeName()).length > 0,
      );
      if (!text.includes("too many arguments") || given.length === 0) return write(text);
      const flags = given.map((o) => o.long ?? "");
      const example = flags[0] ?? "--include";
      write(
        `${text.trimEnd()} ${flags.join(" and ")} take${flags.length === 1 ? "s" : ""} one path each: repeat the flag for another (${example} a ${example} b)\n`,
      );
    },
  });
}

const REPEATABLE = new Set(["--include", "--allow-private-key"]);

function listOption(cmd: Command, key: string): string[] {
  const value: unknown = cmd.getOptionValue(key);
  return Array.isArray(value) ? value.filter((v) => typeof v === "string") : [];
}

/**
 * `--port` in decimal digits, as the hub's number flags take theirs: `Number()` read "0x16" as 22,
 * "1e1" as 10 and "0b10110" as 22: a typo or a pasted value taken as another port.
 */
const port = (v: string): number => {
  const text = v.trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535)
    throw new InvalidArgumentError(notationProblem(text) ?? "must be a port (1-65535)");
  return n;
};

/**
 * `-C DIR` must be a directory: a typo'd one was "internal error: Cannot use simple-git on a
 * directory that does not exist" (exit 1) for bump and git, "cannot open …/update-manifest.yaml"
 * for manifest, and keygen made the missing directories and wrote the signing key there.
 */
async function checkReleaseDir(dir: string): Promise<void> {
  // statSync, not fs/promises: this module loads with the CLI, and importing fs/promises here loaded
  // 10 built-ins (~2–3 ms of CPU) on every `ship --help` (issue 11), for one stat of one directory.
  let found: unknown;
  try {
    found = statSync(dir);
  } catch (error) {
    found = error;
  }
  if (found instanceof Stats && found.isDirectory()) return;
  const why = found instanceof Stats ? "not a directory" : fsErrorText(found);
  throw BadInputError.single("-C", "", `${dir}: ${why}`);
}

export function registerReleaseCommand(program: Command, io: ReleaseIo = processIo): void {
  const release = program
    .command("release")
    .description(
      "release helper for CI: manifest | bump | git | http | sftp | keygen | sign | publish | interactive",
    )
    .option("-C, --dir <dir>", "the app's source directory", ".")
    .option("--json", "machine-readable output")
    .exitOverride(usageExit);

  /** Commander calls an action with the arguments, the options, then the command itself. */
  const act =
    <A extends unknown[]>(run: (...args: A) => Run) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const g = cmd.optsWithGlobals<{ dir: string; json?: boolean }>();
      try {
        await checkReleaseDir(g.dir);
        const loaded = await import("../release/cli-actions.js");
        await run(...(args.slice(0, -1) as A))({ dir: g.dir, json: g.json === true, io }, loaded);
        process.exitCode = ExitCode.ok;
      } catch (error) {
        const name = `ship release ${cmd.name()}`;
        io.err(`${name}: ${messageFor(error)}`);
        process.exitCode = exitCodeFor(error);
        // As a usage error's is: a CI script reading `--json` gets JSON when publish is refused too.
        if (g.json === true) io.out(jsonFailureText(process.exitCode, name, messageFor(error)));
      }
    };
  const sub = (name: string, description: string) => {
    const cmd = release.command(name).description(description).exitOverride(usageExit);
    explainRepeatableOptions(cmd);
    return cmd;
  };
  const buildOptions = (c: Command) =>
    c
      .option(
        "--include <path>",
        "only this file/directory (repeatable; default: all files git does not ignore)",
        collect,
      )
      .option("--app <name>", "app name (default: the directory's name)")
      .option("--out <dir>", "where the archive goes", ".")
      .option(
        "--allow-private-key <path>",
        "ship this file although it holds a private key (repeatable; refused otherwise)",
        collect,
      );

  sub("manifest", "write a starter update-manifest.yaml")
    .argument("<version>")
    .option("--force", "overwrite an existing manifest")
    .option("--out <file>", "where to write it", "update-manifest.yaml")
    .option("--description <text>")
    .action(
      act(
        (v: string, o: Parameters<typeof actions.manifestAction>[2]) => (c, a) => a.manifestAction(c, v, o),
      ),
    );

  sub("bump", "print the next version after the newest v* tag")
    .addArgument(new Argument("<part>").choices(bumpParts))
    .action(act((part: (typeof bumpParts)[number]) => (c, a) => a.bumpAction(c, part)));

  sub("git", "set the manifest's version, commit, tag vVERSION (annotated), push with --push")
    .argument("<version>")
    .argument("<description>")
    .option("--push", "push the branch and the tag")
    .option("--remote <name>", "remote to push to", "origin")
    .option(
      "--allow-private-key <path>",
      "ship this file although it holds a private key (repeatable; refused otherwise)",
      collect,
    )
    .action(
      act(
        (v: string, d: string, o: { push?: boolean; remote?: string; allowPrivateKey?: string[] }) =>
          (c, a) =>
            a.gitAction(c, v, d, o),
      ),
    );

  buildOptions(sub("http", "build APP-VERSION.tar.gz (reproducible) and its .sha256"))
    .argument("<version>")
    .argument("<description>")
    .action(act((v: string, d: string, o: actions.BuildCliOptions) => (c, a) => a.httpAction(c, v, d, o)));

  buildOptions(sub("sftp", "build as http, upload over SFTP, verify size and sha256 on the server"))
    .argument("<version>")
    .argument("<description>")
    .argument("<host>")
    .argument("<user>")
    .argument("<remote_dir>")
    .option("--key <file>", "private key (default ~/.ssh/id_ed25519)")
    .option("--port <n>", "ssh port", port, 22)
    .option("--known-hosts <file>", "known_hosts holding the server's key (default ~/.ssh/known_hosts)")
    .option(
      "--latest <name>",
      "after the verified upload, switch this stable name (e.g. myapp-latest.tar.gz) to it",
    )
    .option(
      "--sign-key <file>",
      "sign the archive with this release key (as `sign`) and upload ARCHIVE.sig beside it (and beside --latest)",
    )
    .action(
      act(
        (
          version: string,
          description: string,
          host: string,
          user: string,
          remoteDir: string,
          o: actions.SftpCliOptions,
        ) =>
          (c, a) =>
            a.sftpAction(c, { version, description, host, user, remoteDir }, o),
      ),
    );

  sub("keygen", "create an Ed25519 signing key pair (private key mode 600)")
    .option("--out <dir>", "where the keys go", ".")
    .action(act((o: { out?: string }) => (c, a) => a.keygenAction(c, o)));

  sub("sign", "write ARTIFACT.sig: app, version, artifact and manifest sha256 signed with Ed25519")
    .argument("[artifact]", "the release archive (omit with --git-commit)")
    .requiredOption("--key <file>", "private key from `ship release keygen`")
    .option("--manifest <file>", "manifest (default: the one inside the archive)")
    .option("--app <name>", "app (default: from the archive name)")
    .option("--version <v>", "version (default: the manifest's)")
    .option("--git-commit <sha>", "sign a git release at this commit instead of an archive")
    .option("--out <file>", "signature file (default ARTIFACT.sig)")
    .option(
      "--allow-private-key <entry>",
      "sign the archive although this file in it holds a private key (repeatable; refused otherwise)",
      collect,
    )
    .action(
      act(
        (artifact: string | undefined, o: Parameters<typeof actions.signAction>[2]) => (c, a) =>
          a.signAction(c, artifact, o),
      ),
    );

  sub("publish", "register a release with the hub (uploading the archive, or referencing a URL / git commit)")
    .requiredOption("--hub <url>", "hub URL, e.g. https://hub.example.com:8080")
    .option("--token <jwt>", "a ci token (prefer --token-file: arguments show in ps)")
    .option("--token-file <file>")
    .requiredOption("--app <name>")
    .requiredOption("--version <v>")
    .option("--artifact <file>", "upload this archive to the hub")
    .option("--url <url>", "or reference an archive agents download themselves (needs --sha256)")
    .option("--remote-path <path>", "or reference a file agents fetch over SFTP (needs --sha256)")
    .option("--sha256 <hex>", "sha256 of the --url or --remote-path archive")
    .option("--git-commit <sha>", "or reference a git commit agents fetch")
    .option("--git-tag <tag>")
    .option("--manifest <file>", "manifest (default: inside --artifact, else ./update-manifest.yaml)")
    .option("--signature <file>", "signature from `ship release sign`")
    .option("--ca-file <pem>", "certificate (PEM) of the private CA that signed the hub's https certificate")
    .option(
      "--allow-private-key <entry>",
      "upload the archive although this file in it holds a private key (repeatable; refused otherwise)",
      collect,
    )
    .action(act((o: actions.PublishCliOptions) => (c, a) => a.publishAction(c, o)));

  sub("interactive", "ask for method, version bump and description, then release").action(
    act(() => async (c, a) => {
      if (!process.stdin.isTTY)
        throw BadInputError.single("stdin", "", "interactive needs a terminal; in CI use git/http/sftp");
      const { askReleasePlan } = await import("../release/interactive.js");
      const plan = await askReleasePlan(c.dir, process.stdin, process.stdout);
      if (plan === undefined) return c.io.out("nothing released");
      if (plan.method === "git") return a.gitAction(c, plan.version, plan.description, { push: plan.push });
      if (plan.method === "http") return a.httpAction(c, plan.version, plan.description, {});
      return a.sftpAction(c, plan, {});
    }),
  );
  // One line naming the command, as this command's own refusals read (`ship release publish: …`).
  sayUsageErrorsInOneLine(allCommands(release), commandPath);
}
