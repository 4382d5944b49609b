/**
 * The `ship` program: options, modes and subcommands, each mode loaded only when it runs. Its own
 * module, apart from the bin entry (main.ts), so the code-cached bundle of the quick commands
 * (scripts/build-agent-cli.mjs, shared/cli/code-cache.ts) can call it without top-level await.
 */
import { Command, CommanderError, Option } from "commander";
import { exitQuietlyWhenStdoutCloses } from "../../shared/cli/closed-stdout.js";
import { refuseEmptyValues } from "../../shared/cli/empty-values.js";
import { refuseNonUtf8Arguments } from "../../shared/cli/non-utf8-arguments.js";
import { isNotInBundle } from "../../shared/cli/not-in-bundle.js";
import { handDown, refuseParentOptions } from "../../shared/cli/parent-options.js";
import { refuseRepeatedValues } from "../../shared/cli/repeated-options.js";
import {
  allCommands,
  commandPath,
  sayUsageErrorsInOneLine,
  usageErrorText,
} from "../../shared/cli/usage-lines.js";
import { versionText } from "../../shared/cli/version-output.js";
import { BadInputError, ExitCode } from "../../shared/errors.js";
import { SHIP_VERSION } from "../../shared/version.js";
import { exitCodeFor, messageFor } from "./exit-codes.js";
import { jsonFailureText } from "./json-failure.js";
import { createOutput, type Output } from "./output.js";
import { registerReleaseCommand } from "./release-command.js";

// The agent bundle's bin asks it whether the command line it ran started the daemon, and is told when
// the daemon is up, to write its code cache then (daemon-started.ts).
export { daemonStarted, whenDaemonUp } from "./daemon-started.js";

export interface GlobalOptions {
  config?: string;
  checkOnly?: boolean;
  force?: boolean;
  sources?: string[];
  rollback?: string;
  /** False with `--no-hooks`: `--rollback` restores files only. */
  hooks?: boolean;
  listBackups?: boolean;
  testManifest?: string;
  checkRequirements?: string;
  testConditionals?: string;
  checkRollout?: string;
  appDir?: string;
  currentVersion?: string;
  allowDowngrade?: boolean;
  ignoreRollout?: boolean;
  approve?: string[];
  recover?: boolean;
  version?: boolean;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

type Runner = (options: GlobalOptions, out: Output) => Promise<number>;

/** Each root-level mode lives in its own module, loaded only when used so `ship --help` stays fast. */
const modes: { flag: keyof GlobalOptions; load: () => Promise<Runner> }[] = [
  { flag: "testManifest", load: async () => (await import("./commands/test-manifest.js")).testManifest },
  {
    flag: "checkRequirements",
    load: async () => (await import("./commands/check-requirements.js")).checkRequirementsCommand,
  },
  {
    flag: "testConditionals",
    load: async () => (await import("./commands/test-conditionals.js")).testConditionals,
  },
  { flag: "checkRollout", load: async () => (await import("./commands/check-rollout.js")).checkRollout },
  { flag: "listBackups", load: async () => (await import("./commands/list-backups.js")).listBackupsCommand },
  { flag: "rollback", load: async () => (await import("./commands/rollback.js")).rollbackCommand },
  { flag: "approve", load: async () => (await import("./commands/approve.js")).approveCommand },
  { flag: "recover", load: async () => (await import("./commands/run.js")).recoverCommand },
];

const flagName = (flag: keyof GlobalOptions): string =>
  `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Root-level modes each do one thing, so asking for two would silently run only the first in the
 * list above (`--list-backups --rollback X` listed and never rolled back); `--check-only` applies
 * only to an update run and `--no-hooks` only to `--rollback`. Any such mix is bad input (exit 2).
 */
function misusedOptions(options: GlobalOptions): string | undefined {
  // `--version` is a mode too: `ship --version --force` printed the version and ignored --force.
  const chosen: { flag: keyof GlobalOptions }[] = [
    ...(options.version === true ? [{ flag: "version" as const }] : []),
    ...modes.filter((m) => options[m.flag] !== undefined && options[m.flag] !== false),
  ];
  const [first, second] = chosen.map((m) => flagName(m.flag));
  if (second !== undefined) return `${first} and ${second} cannot be used together: give one`;
  if (options.checkOnly === true && first !== undefined)
    return `--check-only applies to an update run, not to ${first}`;
  if (options.hooks === false && options.rollback === undefined)
    return "--no-hooks applies only with --rollback ID (an update run always runs its hooks)";
  const mode = chosen[0]?.flag ?? "run";
  for (const { flag, modes: readBy } of OPTION_MODES) {
    if (options[flag] === undefined || options[flag] === false || readBy.includes(mode)) continue;
    const where = (m: Mode) => (m === "run" ? "an update run" : flagName(m));
    return `${flagName(flag)} applies to ${readBy.map(where).join(", ")}, not to ${where(mode)}`;
  }
  return undefined;
}

type Mode = keyof GlobalOptions | "run";

/**
 * Options that change what one kind of command does, and the modes that read them ("run": an
 * update run, `--check-only` included). Given to any other mode they were silently ignored
 * (`--list-backups --sources nope` listed every app, exit 0); now they are bad input.
 */
const OPTION_MODES: { flag: keyof GlobalOptions; modes: Mode[] }[] = [
  { flag: "force", modes: ["run"] },
  { flag: "allowDowngrade", modes: ["run", "approve"] },
  { flag: "ignoreRollout", modes: ["run"] },
  { flag: "sources", modes: ["run", "listBackups", "testConditionals", "checkRequirements", "checkRollout"] },
  { flag: "appDir", modes: ["testConditionals", "checkRequirements", "checkRollout"] },
  { flag: "currentVersion", modes: ["testConditionals", "checkRollout"] },
];

/**
 * Whose refusal a line is: `ship release …`'s say their command (`ship release publish: …`), as
 * their own refusals and commander's do; the rest say `ship:`.
 */
function refusalName(command: Command): string {
  const path = commandPath(command);
  return path.startsWith("ship release") ? path : "ship";
}

/** `onCommand`: the command a refusal of bad input belongs to, before anything checks it. */
function buildProgram(setExit: (code: number) => void, onCommand: (command: Command) => void): Command {
  const program = new Command("ship")
    .description("Unattended, safe application updates: one run over the sources in ship.toml")
    // Not commander's .version(): it printed as soon as it read --version, so the bare version for
    // `--version --json` after other options, and for `--version --jsn` (a typo, exit 0). Answered
    // in the action, once every option is read: an unknown one is refused first, exit 2.
    .option("--version", "output the version number")
    .option("-c, --config <path>", "config file (default ./ship.toml if present, else /etc/ship/ship.toml)")
    .option(
      "--check-only",
      "report which sources have an update a run would install now; apply nothing (exit 100 if any)",
    )
    .option("--force", "bypass the once-a-day rule")
    .option("--sources <names...>", "only these sources")
    .option("--rollback <id|path>", "restore a backup (id as listed by --list-backups, or its path)")
    .option("--no-hooks", "with --rollback: do not run the undone release's rollback hooks")
    .option("--list-backups", "list backups with id, app, version, created, size")
    .option("--test-manifest <file>", "validate an update manifest; errors carry line:column")
    .option("--check-requirements <file>", "run the manifest's requirement checks on this host")
    .option(
      "--test-conditionals <file>",
      "evaluate the manifest's conditionals here and say what would happen",
    )
    .option("--check-rollout <file>", "would this host take part in the manifest's staged rollout now")
    .option(
      "--app-dir <dir>",
      "app directory for --test-conditionals, --check-requirements, --check-rollout (default: the config's only source)",
    )
    .option("--current-version <v>", "installed version to assume for --test-conditionals, --check-rollout")
    .option(
      "--allow-downgrade",
      "apply a release older than the installed one (with --approve: approve a downgrade's manual steps)",
    )
    .option("--ignore-rollout", "install even when the manifest's staged rollout says this host waits")
    .option("--approve <app-and-version...>", "record that the manual steps for APP VERSION are done")
    .option("--recover", "undo an update or finish a restore or rollback a crash interrupted, then exit")
    .option("--json", "machine-readable output")
    .addOption(new Option("-v, --verbose", "debug logging").conflicts("quiet"))
    .option("-q, --quiet", "only problems")
    .enablePositionalOptions()
    .action(async (options: GlobalOptions) => {
      const misuse = misusedOptions(options);
      if (misuse !== undefined) {
        process.stderr.write(`ship: ${misuse}\n`);
        setExit(ExitCode.badInput);
        return;
      }
      if (options.version === true) {
        process.stdout.write(`${versionText(SHIP_VERSION, options.json === true)}\n`);
        return;
      }
      // A name given twice (a script appending one) is that source once: twice, the run refused
      // "sources.x.app_dir, sources.x.app_dir: all name DIR … run one with --sources x".
      if (options.sources !== undefined) options.sources = [...new Set(options.sources)];
      const out = createOutput(options);
      const mode = modes.find((m) => options[m.flag] !== undefined && options[m.flag] !== false);
      const runner = mode ? await mode.load() : (await import("./commands/run.js")).runCommand;
      setExit(await runner(options, out));
    });

  program
    .command("agent")
    .description("daemon: connect to the hub in [hub], carry out its instructions, report")
    .option("-c, --config <path>", "config file (default ./ship.toml if present, else /etc/ship/ship.toml)")
    // A subcommand does not take the root's exitOverride (set after it is built): without its own,
    // `ship agent --force` was commander's process.exit(1), which reads "update failed, restored"
    // and which systemd's RestartPreventExitStatus=2 then restarted every 5 s.
    .exitOverride()
    .action(async (opts: { config?: string }) => {
      setExit(await (await import("./commands/agent.js")).agentCommand(opts));
    });

  registerReleaseCommand(program);
  // Before the checks below (hooks run in order), so a refusal they throw names its command.
  program.hook("preAction", (_root, action) => onCommand(action));
  refuseNonUtf8Arguments(program);
  refuseEmptyValues(program);
  refuseRepeatedValues(program);
  // `ship release …` says its own (registerReleaseCommand); the rest say `ship:` as ship's refusals do.
  sayUsageErrorsInOneLine(
    allCommands(program).filter((c) => !commandPath(c).startsWith("ship release")),
    refusalName,
  );
  program.hook("preAction", (_root, action) => takeRootOptions(program, action));
  // What reaches a subcommand from above: `--config` (moved to `agent` above), `release`'s -C and
  // --json (every release command reads both). Any other is refused, for commands added later too.
  handDown(program, ["--config"]);
  const release = program.commands.find((c) => c.name() === "release");
  if (release !== undefined) handDown(release, ["--dir", "--json"]);
  refuseParentOptions(program);
  return program;
}

/**
 * Options written before a subcommand (`ship --config X agent`) are the root's, which does not run
 * then: the daemon started with ./ship.toml or /etc/ship/ship.toml instead of X, and `--force` or
 * `--json` there did nothing. `--config` before `agent` is taken as the agent's; any other is bad input.
 */
function takeRootOptions(program: Command, action: Command): void {
  if (action === program) return;
  const given = program.options.filter((o) => program.getOptionValueSource(o.attributeName()) === "cli");
  let command = action;
  while (command.parent !== null && command.parent !== program) command = command.parent;
  for (const option of given) {
    const key = option.attributeName();
    const flag = option.long ?? option.flags;
    if (command.name() === "agent" && key === "config") {
      const own: unknown = action.getOptionValue(key);
      const root: unknown = program.getOptionValue(key);
      if (action.getOptionValueSource(key) !== "cli") action.setOptionValueWithSource(key, root, "cli");
      else if (own !== root)
        throw BadInputError.single(flag, "", `given twice, as ${String(root)} and ${String(own)}: give one`);
      continue;
    }
    // `ship --json release …`: `release` has a --json of its own, which goes right after the name
    // of the command that has it (`ship release --json bump`: `ship release bump --json` is
    // commander's "unknown option").
    const owner = [action, command].find((c) => c.options.some((o) => o.long === option.long));
    const where =
      owner === action && action !== command ? `${command.name()} ${action.name()}` : command.name();
    throw BadInputError.single(
      flag,
      "",
      owner !== undefined
        ? `written before \`${command.name()}\` is ship's own option: write it after \`ship ${where}\``
        : `applies to ship's own runs, not to \`ship ${command.name()}\``,
    );
  }
}

async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  // Whose refusal it is: `ship release publish --app ""` and `--app a --app b` said `ship: …` where
  // that command's other refusals say `ship release publish: …`, and its --json `ship: …` for a
  // line stderr began with the command.
  let refused = "ship";
  const program = buildProgram(
    (c) => {
      code = c;
    },
    (command) => {
      refused = refusalName(command);
    },
  );
  // Commander's own refusals (an unknown option) come from the command that wrote them.
  for (const command of allCommands(program)) {
    const own = command.configureOutput().outputError;
    command.configureOutput({
      outputError: (text, write) => {
        refused = refusalName(command);
        if (own === undefined) write(text);
        else own(text, write);
      },
    });
  }
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    // `ship release ...` actions set process.exitCode themselves; keep theirs when ours is 0.
    return code !== ExitCode.ok ? code : Number(process.exitCode ?? ExitCode.ok);
  } catch (error) {
    // The bin runs the whole CLI instead (shared/cli/not-in-bundle.ts): nothing was done or printed yet.
    if (isNotInBundle(error)) throw error;
    if (error instanceof CommanderError) {
      // Help and version are successes; every other parse problem is bad input (exit 2).
      if (error.exitCode === 0) return ExitCode.ok;
      printJsonFailure(argv, ExitCode.badInput, usageErrorText(error.message), refused);
      return ExitCode.badInput;
    }
    const message = messageFor(error);
    process.stderr.write(`${refused}: ${message}\n`);
    printJsonFailure(argv, exitCodeFor(error), message, refused);
    return exitCodeFor(error);
  }
}

/** The `--json` answer of a run that failed, when `--json` is among the arguments before `--`. */
function printJsonFailure(argv: readonly string[], exitCode: number, message: string, name: string): void {
  const args = argv.slice(2);
  const end = args.indexOf("--");
  if (!(end < 0 ? args : args.slice(0, end)).includes("--json")) return;
  process.stdout.write(`${jsonFailureText(exitCode, name, message)}\n`);
}

/** Runs `ship` with these arguments (process.argv); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  exitQuietlyWhenStdoutCloses();
  return main(argv);
}
