/**
 * `ship-hub rollout create`: the flags (or --spec FILE) checked as the hub checks them, then the
 * rollout created or previewed. Its own module: the schemas and the YAML parser it checks with are
 * no part of what `rollout list`, `show` or `agents` load (scripts/build-hub-cli.mjs).
 */
import { readFile } from "node:fs/promises";
import YAML, { LineCounter } from "yaml";
import {
  inPercentSteps,
  inRateSteps,
  inWaitSteps,
  MAX_FAILURE_COUNT,
  MAX_WAIT_MINUTES,
  PERCENT_STEP_PROBLEM,
  percentRefusal,
  RATE_STEP_PROBLEM,
  RolloutSpec,
  type RolloutSpecInput,
  shadowedWaves,
  THRESHOLD_STEP_PROBLEM,
  WAIT_STEP_PROBLEM,
} from "../../shared/api/bodies.js";
import { errnoErrorText } from "../../shared/fs-errors.js";
import { locateInYaml, positionInYaml } from "../../shared/manifest/yaml-positions.js";
import { agentIdProblem, quotedAgentId } from "../../shared/protocol/agent-id.js";
import { parseOneLine } from "../../shared/schema/one-line.js";
import { printable } from "../../shared/schema/unprintable.js";
import { requestProblems } from "../../shared/schema/zod-problems.js";
import { splitLabelList } from "../label-pairs.js";
import { quotedText } from "../quoted-text.js";
import { type FlagSource, inFlagTerms, refusedInFlagTerms } from "./flag-terms.js";
import { table } from "./format.js";
import { HubClient, type RemoteOptions } from "./hub-client.js";
import { decimalFlag } from "./number-flag.js";
import { type Detail, out, pairs, printDetail, warnAll } from "./remote-commands.js";
import { specYamlProblem } from "./spec-yaml-limits.js";
import { say } from "./stderr-lines.js";

export interface CreateOptions extends RemoteOptions {
  release?: string;
  app?: string;
  version?: string;
  spec?: string;
  wave?: string[];
  selector?: string[];
  failureThreshold?: string;
  waitMinutes?: string;
  minSuccessRate?: string;
  autoAdvance?: boolean;
  autoRollback?: boolean;
  preview?: boolean;
  seed?: string;
}

/**
 * `--wave "…"` as the operator typed it, for a message: a control character in it (an id pasted
 * with a colour's ESC) is escaped, as the id is, and no longer turns the operator's terminal red.
 */
const waveFlag = (text: string): string => `--wave ${quotedText(text)}`;

/** `--wave canary=5 --wave all=100` (percent), or `--wave eu=label:region=eu`, or `--wave pets=agents:a,b`. */
function parseWave(text: string, options: CreateOptions) {
  const at = text.indexOf("=");
  if (at <= 0)
    throw new RangeError(`${waveFlag(text)}: use NAME=PERCENT, NAME=label:K=V or NAME=agents:ID,ID`);
  // Spaces beside `=` are no part of the name or the value, as in `--selector env = prod`.
  const name = text.slice(0, at).trim();
  const value = text.slice(at + 1).trim();
  const common = {
    name,
    ...(options.waitMinutes ? { waitMinutes: waitOption(options.waitMinutes) } : {}),
    ...(options.minSuccessRate ? { minSuccessRate: rateOption(options.minSuccessRate) } : {}),
  };
  // "a1, a2" as the dashboard's wave row takes it: a space after a comma is no part of a name (the
  // hub refused " a2" as an agent id, and a label key " env" matched nobody).
  if (value.startsWith("label:")) {
    // A pair holding a comma is given whole in double quotes (`label:"zone=rack a,b",env=prod`),
    // as `rollout show` says it back: split at every comma, no labels wave could choose it.
    let listed: string[];
    try {
      listed = splitLabelList(value.slice(6));
    } catch (error) {
      throw new RangeError(
        `${waveFlag(text)}: label ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const labels = pairs(
      listed.filter((pair) => pair !== ""),
      `${waveFlag(text)}: label`,
    );
    // No pair (`canary=label:$RING` with the variable empty) was labels {}: every agent left, the
    // whole fleet in a canary. The API's `labels: {}` says that on purpose; a flag left empty does not.
    if (Object.keys(labels).length === 0)
      throw new RangeError(
        `${waveFlag(text)}: name at least one label, NAME=label:KEY=VALUE (every agent left is NAME=100)`,
      );
    return { ...common, labels };
  }
  if (value.startsWith("agents:")) {
    // An empty id (`a1,,a2`, `a1,`: a variable left empty in a script) was dropped unsaid, and the
    // wave went out without the host meant there. The dashboard's wave row refuses it alike.
    const parts = value
      .slice(7)
      .split(",")
      .map((part) => part.trim());
    // One count for empty and malformed ids: each id split by spaces too ("a1 a2,,a3": the empty
    // one is id 3), where the empty one was counted by commas alone (said "id 2", a2).
    const ids = parts.flatMap((part) => (part === "" ? [""] : part.split(/\s+/)));
    const empty = ids.indexOf("");
    if (empty >= 0 && ids.length > 1)
      throw new RangeError(
        `${waveFlag(text)}: wave ${printable(name)}'s agent id ${empty + 1} is empty (two commas together, or a comma at an end): separate the ids by one comma`,
      );
    const agents = ids.filter(Boolean);
    // By the hub's rule, before it is asked: its 400 named the field the whole --wave came from,
    // and left the operator to find which of the ids it refused (the dashboard names it).
    agents.forEach((id, i) => {
      const problem = agentIdProblem(id);
      if (problem !== undefined)
        throw new RangeError(
          `${waveFlag(text)}: wave ${printable(name)}'s agent id ${i + 1} ${quotedAgentId(id)} ${problem}`,
        );
    });
    return { ...common, agents };
  }
  const percent = decimalFlag(value.replace(/%$/, ""), waveFlag(text));
  if (percent === undefined || percent <= 0 || percent > 100)
    throw new RangeError(`${waveFlag(text)}: the percent must be a number above 0 and at most 100`);
  if (!inPercentSteps(percent))
    throw new RangeError(`${waveFlag(text)}: the percent ${PERCENT_STEP_PROBLEM}`);
  return { ...common, percent };
}

/** Percent waves are cumulative, as the hub checks them (RolloutSpec): each above the one before. */
function checkCumulative(texts: readonly string[], percents: readonly (number | undefined)[]): void {
  let last: { percent: number; index: number } | undefined;
  percents.forEach((percent, index) => {
    if (percent === undefined) return;
    if (last !== undefined && percent <= last.percent)
      throw new RangeError(
        `${waveFlag(texts[index] ?? "")}: ${percentRefusal(percent, last.percent, last.index)}`,
      );
    last = { percent, index };
  });
}

/** `--wait-minutes`, `--min-success-rate`, `--failure-threshold N|N%`: a number, or exit 2 naming the flag. */
function numberOption(flag: string, text: string, max: number, unit = ""): number {
  const value = decimalFlag(text, `${flag} ${quotedText(text)}`);
  if (value === undefined || value > max)
    throw new RangeError(`${flag} ${quotedText(text)}: must be a number from 0 to ${max}${unit}`);
  return value;
}

/** `--wait-minutes M`: minutes from 0 to 30 days in the steps the hub takes, or exit 2 naming the flag. */
function waitOption(text: string): number {
  const minutes = numberOption("--wait-minutes", text, MAX_WAIT_MINUTES, " (30 days)");
  if (!inWaitSteps(minutes)) throw new RangeError(`--wait-minutes ${quotedText(text)}: ${WAIT_STEP_PROBLEM}`);
  return minutes;
}

/** `--min-success-rate R`: a fraction from 0 to 1 in the steps the hub takes, or exit 2 naming the flag. */
function rateOption(text: string): number {
  const rate = numberOption("--min-success-rate", text, 1, " (a fraction)");
  if (!inRateSteps(rate))
    throw new RangeError(`--min-success-rate ${quotedText(text)}: ${RATE_STEP_PROBLEM}`);
  return rate;
}

/** `--failure-threshold N|P%`, checked as the hub checks it (RolloutSpec): N failures ≥ 1, or P % from 0 to 100. */
function thresholdOption(text: string): { count: number } | { percent: number } {
  if (text.endsWith("%")) {
    const percent = decimalFlag(text.slice(0, -1), `--failure-threshold ${quotedText(text)}`);
    if (percent === undefined || percent > 100)
      throw new RangeError(
        `--failure-threshold ${quotedText(text)}: the percent must be a number from 0 to 100`,
      );
    if (!inPercentSteps(percent))
      throw new RangeError(`--failure-threshold ${quotedText(text)}: the percent ${THRESHOLD_STEP_PROBLEM}`);
    return { percent };
  }
  const count = decimalFlag(text, `--failure-threshold ${quotedText(text)}`);
  if (count === undefined || !Number.isInteger(count) || count < 1 || count > MAX_FAILURE_COUNT)
    throw new RangeError(
      `--failure-threshold ${quotedText(text)}: must be a number of failures (a whole number from 1 to ${MAX_FAILURE_COUNT}) or a percent such as 10%`,
    );
  return { count };
}

/**
 * `--spec FILE`, checked here like the flags it replaces: a file that cannot be read, YAML that does
 * not parse (its line and column) or a body the hub would refuse is exit 2 in one line naming the
 * file and the key, before the hub is asked anything.
 */
async function readSpecFile(file: string): Promise<SpecFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new RangeError(`--spec ${file}: ${errnoErrorText(error)}`);
  }
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines });
  const past = specYamlProblem(doc, text, lines);
  if (past) throw new RangeError(`--spec ${file}:${past.line}:${past.col}: ${past.message}`);
  const broken = doc.errors[0];
  if (broken) {
    // The library's message spans lines (an excerpt); its position goes where a file's goes.
    const at = broken.linePos?.[0];
    const where = at ? `:${at.line}:${at.col}` : "";
    const said = (broken.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    throw new RangeError(`--spec ${file}${where}: ${said}`);
  }
  // Bounded by specYamlProblem: yaml's own per-anchor bound would refuse less, and unnamed.
  const value: unknown = doc.toJS({ maxAliasCount: -1 });
  // The file's keys by their own names (`waves[0].percent`), as the hub's answers about the file
  // are said: the CLI's check said `spec.waves[0]` for what the hub then called `waves[0]`.
  const mapping = typeof value === "object" && value !== null && !Array.isArray(value);
  const checked = parseOneLine(RolloutSpec, value, mapping ? "" : "the file");
  if (!checked.ok) {
    // Where the first field named sits, as a YAML error's position is said: the file's line:column
    // was given for a syntax error and not for `waves[3].percent` forty lines down.
    const first = requestProblems(RolloutSpec, value).problems?.[0];
    const at = first === undefined ? undefined : positionInYaml(doc, text, lines, first);
    throw new RangeError(`--spec ${file}${at ? `:${at.line}:${at.column}` : ""}: ${checked.message}`);
  }
  // Sent as written: the hub fills the defaults in itself.
  return {
    spec: value as RolloutSpecInput,
    at: (path) => {
      // A field the file leaves to its default (failureThreshold) has no place in it to point at.
      if (!locateInYaml(doc, path).complete) return undefined;
      const found = positionInYaml(doc, text, lines, { path, message: "", severity: "error", at: "value" });
      return found === undefined ? undefined : `${found.line}:${found.column}`;
    },
  };
}

/** A `--spec` file's body, and where a key path of it sits in the file (`7:5`), for the hub's answers. */
interface SpecFile {
  spec: RolloutSpecInput;
  at: (path: readonly (string | number)[]) => string | undefined;
}

/**
 * The flags that say what `--spec` says, and `--app`/`--version` beside `--release`: given together,
 * one was silently not read (`--spec FILE --version 1.0.0` rolled out the file's release, not
 * 1.0.0), so the pair is bad input naming both. Returns the flags given.
 */
function refuseUnreadFlags(options: CreateOptions): string[] {
  const given = (
    [
      ["--release", options.release],
      ["--app", options.app],
      ["--version", options.version],
      ["--wave", options.wave?.length ? options.wave : undefined],
      ["--selector", options.selector?.length ? options.selector : undefined],
      ["--failure-threshold", options.failureThreshold],
      ["--wait-minutes", options.waitMinutes],
      ["--min-success-rate", options.minSuccessRate],
      ["--auto-advance", options.autoAdvance],
      ["--auto-rollback", options.autoRollback],
      ["--seed", options.seed],
    ] as const
  ).flatMap(([flag, value]) => (value === undefined ? [] : [flag]));
  if (options.spec !== undefined && given.length > 0)
    throw new RangeError(
      `--spec ${options.spec} holds the whole rollout: ${given.join(", ")} would not be read; put ${given.length > 1 ? "them" : "it"} in the file or leave out --spec`,
    );
  const byVersion = given.filter((flag) => flag === "--app" || flag === "--version");
  if (options.release !== undefined && byVersion.length > 0)
    throw new RangeError(
      `--release ${options.release} names the release: ${byVersion.join(", ")} would not be read; give --release ID or --app NAME --version V`,
    );
  return given;
}

async function buildSpec(client: HubClient, options: CreateOptions): Promise<SpecFile | RolloutSpecInput> {
  const given = refuseUnreadFlags(options);
  if (options.spec) return readSpecFile(options.spec);
  // Everything the operator typed is checked before the hub is asked anything: a bad --wave is
  // bad input (exit 2) whether or not the release exists or the hub answers.
  const texts = options.wave?.length ? options.wave : ["all=100"];
  const waves = texts.map((w) => parseWave(w, options));
  checkCumulative(
    texts,
    waves.map((w) => ("percent" in w ? w.percent : undefined)),
  );
  // Both only act when waves advance by themselves: without --auto-advance the operator read a
  // soak or a success bar into a rollout that has neither.
  const idle = given.filter((flag) => flag === "--wait-minutes" || flag === "--min-success-rate");
  if (options.autoAdvance !== true && idle.length > 0)
    throw new RangeError(
      `${idle.join(", ")} only ${idle.length > 1 ? "act" : "acts"} with --auto-advance (without it a wave advances when an operator advances it, whatever its wait or success rate): add --auto-advance or leave ${idle.length > 1 ? "them" : "it"} out`,
    );
  const shadowed = shadowedWaves(waves, 1)[0];
  if (shadowed) throw new RangeError(`${waveFlag(texts[shadowed.wave] ?? "")}: ${shadowed.message}`);
  const failureThreshold = thresholdOption(options.failureThreshold ?? "1");
  let release = options.release;
  if (!release && options.app && options.version) {
    // The hub finds it as it compares versions (`--version v2.0.0` finds 2.0.0), among all the
    // app's releases: a list of the newest would miss an old one rolled out again.
    const { releases } = await client.request<{ releases: { id: string }[] }>(
      "GET",
      `/releases?app=${encodeURIComponent(options.app)}&version=${encodeURIComponent(options.version)}`,
    );
    release = releases[0]?.id;
    if (!release) throw new RangeError(`no release ${options.app} ${options.version} on the hub`);
  }
  if (!release)
    throw new RangeError("name the release: --release ID, or --app NAME --version V, or --spec FILE");
  return {
    release,
    waves,
    failureThreshold,
    autoAdvance: options.autoAdvance ?? false,
    autoRollback: options.autoRollback ?? false,
    ...(options.seed ? { seed: options.seed } : {}),
    ...(options.selector?.length ? { selector: { labels: pairs(options.selector, "--selector") } } : {}),
  };
}

/** What the operator typed, for saying the hub's answers in those terms (`--wave "half=50"`, not `body.waves[1]`). */
function createSource(options: CreateOptions, built: SpecFile | RolloutSpecInput): FlagSource {
  if ("at" in built) return { spec: options.spec ?? "", at: built.at };
  const spec = built;
  return {
    waves: options.wave?.length ? options.wave.map(waveFlag) : ['the default --wave "all=100"'],
    // The names as sent, to find a refused one whole (any character in it).
    labels: {
      selector: Object.keys(spec.selector?.labels ?? {}),
      waves: spec.waves.map((w) => (w.labels === undefined ? undefined : Object.keys(w.labels))),
    },
    flags: {
      "body.waves": "--wave",
      "body.failureThreshold": "--failure-threshold",
      "body.selector.labels": "--selector",
      "body.selector": "--selector",
      "body.seed": "--seed",
      "body.release":
        options.release !== undefined
          ? `--release ${options.release}`
          : `--app ${options.app ?? ""} --version ${options.version ?? ""}`,
    },
  };
}

export async function rolloutCreate(options: CreateOptions): Promise<void> {
  const client = await HubClient.from(options);
  const built = await buildSpec(client, options);
  const source = createSource(options, built);
  const spec = "at" in built ? built.spec : built;
  const warn = (warnings: readonly string[] | undefined) =>
    warnAll(warnings?.map((w) => inFlagTerms(w, source)));
  if (options.preview) {
    type Preview = {
      seed: string;
      waves: { name: string; agents: string[] }[];
      unassigned: string[];
      nobody?: string;
      busy?: string;
      warnings?: string[];
    };
    const p = await refusedInFlagTerms(client.request<Preview>("POST", "/rollouts/preview", spec), source);
    // The hub would refuse to create it (400 nobody, 409 busy): exit 2, as that create exits, so a
    // script previewing before it creates does not read "fine".
    const said = p.nobody ?? p.busy;
    const refused = said === undefined ? undefined : inFlagTerms(said, source);
    if (refused !== undefined) process.exitCode = 2;
    // On stderr with --json too: the person running a script sees them; the JSON carries them.
    warn(p.warnings);
    if (options.json) return out(JSON.stringify(p, null, 2));
    out(`preview (seed ${printable(p.seed)}): the same command without --preview gives exactly this split`);
    if (refused !== undefined) say(`creating it would be refused: ${refused}`);
    out(
      table(
        ["WAVE", "AGENTS", "MEMBERS"],
        [
          ...p.waves.map((w) => [
            w.name,
            w.agents.length,
            w.agents.length ? w.agents.join(" ") : "(no agent)",
          ]),
          // Agents of the app no wave takes: a row only when there are some ("(none) 0" read as a
          // wave of that name, or as agents missing).
          ...(p.unassigned.length > 0 ? [["(in no wave)", p.unassigned.length, p.unassigned.join(" ")]] : []),
        ],
      ),
    );
    return;
  }
  const created = await refusedInFlagTerms(
    client.request<Detail & { warnings?: string[] }>("POST", "/rollouts", spec),
    source,
  );
  warn(created.warnings);
  if (options.json) return out(JSON.stringify(created, null, 2));
  printDetail(created);
}
