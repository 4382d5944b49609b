/**
 * The `ship-hub` program: its commands, each loading its modules only when it runs. Its own module,
 * apart from the bin entry (main.ts), so the code-cached CommonJS bundle of the remote and token
 * commands (scripts/build-hub-cli.mjs, shared/cli/code-cache.ts) can run it too.
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
import { versionRequest } from "../../shared/cli/version-output.js";
import { placeConfigIssues } from "../../shared/config/key-positions.js";
import { BadInputError, ShipError } from "../../shared/errors.js";
import { errnoErrorText } from "../../shared/fs-errors.js";
import { APP_STATES } from "../../shared/protocol/app-states.js";
import { printable } from "../../shared/schema/unprintable.js";
import { SHIP_VERSION } from "../../shared/version.js";
import { rolloutStates } from "../rollouts/states.js";
import { jsonRequested } from "./stderr-lines.js";

// Subcommands load their modules on demand: `rollout list` should not pay for express and SQLite.
const remoteCommands = () => import("./remote-commands.js");
// `rollout create` alone checks flags with the API's schemas (zod) and reads YAML.
const rolloutCreate = () => import("./rollout-create.js");
const tokenCommands = () => import("./token.js");

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * A flag that takes one of a fixed set of words, refused by the CLI itself (exit 2, naming the flag
 * and the words it takes), before any request: `agents --status bogus` went to the hub, and with no
 * hub reachable said "connection refused" (exit 1) about a typo. The words are the API's own lists.
 */
const oneOf = (flags: string, description: string, words: readonly string[]): Option =>
  new Option(flags, description).choices(words);

function local(cmd: Command): Command {
  return cmd
    .option(
      "--config <file>",
      "hub.toml (else $SHIP_HUB_CONFIG, which must exist; else /etc/ship/hub.toml when it exists)",
    )
    .option("--data-dir <dir>", "data directory (default ./ship-hub-data or hub.toml data_dir)")
    .option("--db <file>", "SQLite database (default <data-dir>/hub.db)")
    .option(
      "--database-url <url>",
      "PostgreSQL shared by several hubs, instead of SQLite (or $SHIP_HUB_DATABASE_URL, hub.toml database_url)",
    );
}

function remote(cmd: Command): Command {
  return cmd
    .option("--hub <url>", "hub URL (default $SHIP_HUB_URL or http://127.0.0.1:8080)")
    .option(
      "--token <jwt>",
      "operator token (default $SHIP_HUB_TOKEN; prefer --token-file or the variable: arguments show in ps)",
    )
    .option("--token-file <file>", "file holding the operator token")
    .option("--json", "machine-readable output");
}

const program = new Command("ship-hub")
  .description("ship hub: releases, staged rollouts, agents")
  .addHelpText("after", "\n  ship-hub --version [--json]   print the version");

local(program.command("serve").description("run the hub"))
  .option("--port <port>", "port (default 8080)")
  .option("--host <host>", "interface (default 127.0.0.1)")
  .action(async (options) => (await import("./serve.js")).serve(options));

const token = program
  .command("token")
  .description("API tokens (reads the data dir, or the database_url database, directly)");
local(token.command("create").description("print a new token (or write it with --out)"))
  .addOption(
    oneOf("--role <role>", "ci | operator | agent", ["ci", "operator", "agent"]).makeOptionMandatory(),
  )
  .option("--name <name>", "who holds it (shown in the audit log)")
  .option("--agent <id>", "agent id (agent tokens)")
  .option("--ttl <duration>", "lifetime, e.g. 30d, 12h (max 366d)", "30d")
  .option("--out <file>", "write the token to this new file (mode 600) instead of printing it")
  .action(async (options) => (await tokenCommands()).tokenCreate(options));
local(token.command("revoke").description("revoke a token by jti").argument("<jti>")).action(
  async (jti: string, options) => (await tokenCommands()).tokenRevoke(jti, options),
);
local(token.command("list").description("list tokens").option("--json", "machine-readable output")).action(
  async (options) => (await tokenCommands()).tokenList(options),
);

const rollout = program.command("rollout").description("staged rollouts (via the API)");
remote(rollout.command("create").description("create and start a rollout"))
  .option("--release <id>", "release id")
  .option("--app <app>", "with --version: find the release by app and version")
  .option("--version <version>")
  .option("--spec <file>", "full rollout body as YAML/JSON (waves, selector, thresholds)")
  .option(
    "--wave <spec>",
    "NAME=PERCENT (cumulative, each above the last) | NAME=label:K=V | NAME=agents:ID,ID (repeat; in order)",
    collect,
  )
  .option("--selector <k=v>", "only agents with this label (repeat)", collect)
  // No commander default: with --spec the flag is refused when given, so given must be told apart.
  .option(
    "--failure-threshold <n|p%>",
    "halt at n failures, or at p % failed of the agents it updates in the waves started so far (default: 1)",
  )
  .option("--wait-minutes <m>", "wait after each wave before auto-advance (0 to 43200)")
  .option("--min-success-rate <0..1>", "success share of the agents it updates a wave needs to auto-advance")
  .option("--auto-advance", "advance waves by themselves")
  .option("--auto-rollback", "on halt, send updated agents back")
  .option("--preview", "only show which agents fall in which wave")
  .option("--seed <text>", "hash agents into waves with this instead of the release id (another split)")
  .action(async (options) => (await rolloutCreate()).rolloutCreate(options));
remote(
  rollout
    .command("list")
    .addOption(oneOf("--state <state>", "only rollouts in this state", rolloutStates))
    .option("--app <app>", "only this app's rollouts")
    .option(
      "--limit <n>",
      "how many, newest first (1 to 1000, default 100; a note on stderr when more exist)",
    )
    .option(
      "--after <next>",
      'the next page: the `--after` the note of the page before named on stderr (a {"note"} line with --json)',
    ),
).action(async (options) => (await remoteCommands()).rolloutList(options));
remote(
  rollout
    .command("show")
    .argument("<id>", "rollout id, or a unique prefix (the dashboard shows 8 characters)"),
)
  .option(
    "--watch",
    "redraw every --interval seconds until the rollout ends (and its rollback instructions are answered) or waits for an operator's decision (exit 0 completed with no agent failed and none still updating; 1 halted, waiting for an operator (below a minSuccessRate, or on a wave that tested nothing), failed, aborted, or completed with failed agents or agents still updating); a hub that restarts meanwhile is tried again for up to 5 min",
  )
  // No commander default: given without --watch it is refused, so given must be told apart.
  .option("--interval <seconds>", "with --watch (default: 2)")
  .action(async (id: string, options) => (await remoteCommands()).rolloutShow(id, options));
remote(
  rollout
    .command("advance")
    .argument("<id>")
    .option(
      "--from-wave <n>",
      "the wave you decided on, numbered as `rollout show` prints it: refused (409) if the rollout already left it (default: the wave read just before, refused too if it started after this command did)",
    ),
).action(async (id: string, options) => (await remoteCommands()).rolloutAction("advance", id, options));
remote(
  rollout
    .command("pause")
    .argument("<id>")
    .option(
      "--from-wave <n>",
      "the wave you decided in, numbered as `rollout show` prints it: if the rollout left it before the pause arrived, it still pauses and a warning names the wave it paused, whose agents already had the release",
    ),
).action(async (id: string, options) => (await remoteCommands()).rolloutAction("pause", id, options));
remote(
  rollout
    .command("resume")
    .argument("<id>")
    .option(
      "--failed-seen <n>",
      "the failures you accept after a halt (`rollout show`'s failed=N): refused (409) if more agents have failed by now (a pause by hand accepts none and checks nothing); those whose timeout fell due while it stood paused are accepted and named (default: accept every failure so far)",
    ),
).action(async (id: string, options) => (await remoteCommands()).rolloutAction("resume", id, options));
remote(
  rollout
    .command("abort")
    .argument("<id>")
    .option("--rollback", "send updated agents back at once")
    .option(
      "--from-wave <n>",
      "the wave you decided in, numbered as `rollout show` prints it: if the rollout left it before the abort arrived, it still aborts and a warning names the wave it stopped, whose agents already had the release",
    ),
).action(async (id: string, options) => (await remoteCommands()).rolloutAction("abort", id, options));
const agents = remote(program.command("agents").description("list agents (filtered on the hub)"))
  .option("--app <name>", "only agents that run this app")
  .option("--version <v>", "only agents on this version (of --app, else of any app)")
  .addOption(
    oneOf(
      "--state <state>",
      "only agents with an app in this state (of --app, else of any app): e.g. updated, failed",
      APP_STATES,
    ),
  )
  .option("--selector <k=v>", "only agents with this label (repeat: every one)", collect)
  .addOption(oneOf("--status <status>", "online | offline", ["online", "offline"]))
  .action(async (options) => (await remoteCommands()).agentsList(options));
// Where the hub is and who asks, written before `forget` or after it; the list's filters are refused.
handDown(agents, ["--hub", "--token", "--token-file", "--json"]);
remote(
  agents
    .command("forget")
    .description(
      "take an offline agent out of the fleet and of new rollouts and revoke its agent tokens (its history stays; a new token brings it back)",
    )
    .argument("<id>"),
)
  // `agents` takes the remote flags too, and commander gives them to it wherever they stand on the line.
  .action(async (id: string, _options, cmd: Command) =>
    (await remoteCommands()).agentsForget(id, cmd.optsWithGlobals()),
  );

refuseNonUtf8Arguments(program);
refuseEmptyValues(program);
refuseRepeatedValues(program);
refuseParentOptions(program);

/**
 * `--json` asks for machine-readable output, failures included: a script parsing stderr got
 * commander's text and its help, or `ship-hub: …`. With it, an error is one JSON line on stderr
 * (`error`, `exitCode`, and `message` as the line would have read), with the same exit code.
 */
function failWith(text: string, exitCode: number): never {
  process.stderr.write(
    jsonRequested
      ? `${JSON.stringify({ error: text, exitCode, message: `ship-hub: ${text}` })}\n`
      : `ship-hub: ${text}\n`,
  );
  process.exit(exitCode);
}

/** Usage errors (a missing argument, an unknown option or command) are bad input: exit 2, as in `ship`. */
function usageExit(error: CommanderError): never {
  throw error.exitCode === 0 ? error : new CommanderError(2, error.code, error.message);
}
function overrideExits(cmd: Command): void {
  cmd.exitOverride(usageExit);
  // Commander's message and the help after it are text: with --json, the catch below says it.
  if (jsonRequested) cmd.configureOutput({ outputError: () => {}, writeErr: () => {} });
  for (const sub of cmd.commands) overrideExits(sub);
}
// One line, as every other refusal: the help that followed it (20 lines) pushed the error off a
// terminal's screen and into a script's parse of stderr; the line says where to read it instead.
sayUsageErrorsInOneLine(
  allCommands(program),
  () => "ship-hub",
  (command) => ` (see \`${commandPath(command)} --help\`)`,
);
overrideExits(program);

/**
 * Runs `ship-hub` on `argv` (process.argv). Resolves when the command is done; failures print their
 * line and exit with their code. Rejects only with a not-in-bundle error (shared/cli/not-in-bundle.ts):
 * the code-cached bundle was given a command it leaves out (`serve`), before anything was done, and
 * the bin runs the ES module bundle instead.
 */
export async function runCli(argv: string[]): Promise<void> {
  exitQuietlyWhenStdoutCloses();
  // Not commander's .version(): `rollout create --version V` would then print ship's version.
  const version = versionRequest(argv.slice(2), SHIP_VERSION);
  if (version !== undefined && "error" in version) failWith(version.error, 2);
  if (version !== undefined) {
    process.stdout.write(version.stdout);
    process.exit(0);
  }
  try {
    await program.parseAsync(argv);
  } catch (error: unknown) {
    if (isNotInBundle(error)) throw error;
    // Commander has already printed its message (or the help), unless --json kept it quiet.
    if (error instanceof CommanderError) {
      if (jsonRequested && error.exitCode !== 0) failWith(usageErrorText(error.message), error.exitCode);
      process.exit(error.exitCode);
    }
    // A file or directory the hub could not use: its path and the errno in words, not Node's wording.
    // A check made after hub.toml loaded names its key: the line and column too, as a parse error.
    const placed = error instanceof BadInputError ? placeConfigIssues(error) : error;
    // One line each: a path with a line break in it said as `\n` (BadInputError's issues are already).
    const text =
      placed instanceof BadInputError
        ? placed.message
        : printable(placed instanceof ShipError ? placed.message : errnoErrorText(error));
    failWith(text, error instanceof ShipError ? error.exitCode : error instanceof RangeError ? 2 : 1);
  }
}
