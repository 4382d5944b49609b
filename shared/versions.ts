/**
 * Version parsing and ordering, used by conditions (`current_version < '2.0.0'`), migrations
 * (run every v with current < v ≤ target) and downgrade checks.
 *
 * The order, as the README states it:
 * - A leading `v`/`V` before a digit is ignored, and so is surrounding whitespace.
 * - **Semver-like** strings — a dotted numeric core, an optional `-pre.release` and an optional
 *   `+build` — follow semver precedence: the core compares part by part numerically, a missing
 *   minor or patch counts as 0 (`1.2` == `1.2.0`), a pre-release sorts before its release
 *   (`1.0.0-alpha` < `1.0.0-alpha.1` < `1.0.0-beta` < `1.0.0`), pre-release identifiers compare
 *   numerically when all digits and as ASCII text otherwise (numbers first), and build metadata
 *   is ignored (`1.0.0+a` == `1.0.0`). Leading zeros (`2024.01.15`) and cores longer than three
 *   parts (`1.2.3.4` > `1.2.3`) are accepted.
 * - **Pre- and post-releases written without semver's `-`**, as Python (PEP 440) and Debian write
 *   them, are read as what they say: `2.0.0rc2`, `2.0b2`, `1.0.0.beta`, `1.0~rc1` are pre-releases
 *   of the number before the word (`a`/`alpha`, `b`/`beta`, `c`/`rc`/`pre`/`preview` read as
 *   semver's `alpha`, `beta`, `rc`, so `2.0.0rc2` == `2.0.0-rc.2` and `2.0b2` == `2.0.0-beta.2`;
 *   the other PRERELEASE_WORDS as themselves), `.devN` sorts before every other pre-release of its
 *   number (`1.0.dev1` < `1.0a1` < `1.0b1` < `1.0rc1` < `1.0`), and `.postN` after the release and
 *   before the next one (`1.0` < `1.0.post1` < `1.0.post2` < `1.0.1`). Read as text runs, `2.0.0rc2`
 *   sorted above `2.0.0` and `1.0.post1` above `1.0.5`.
 * - Numbers joined by dashes alone (`2024-10-01`) are the dotted version they spell (`2024.10.1`).
 * - **Anything else** (`r42`, `release-7`, `abc`) is split into runs of digits and non-digits that
 *   compare run by run: digit runs numerically, text runs as text, a digit run before a text run,
 *   and a string that ends first is smaller (`r9` < `r10` < `ra`; `abc` < `abd`). Lone `.` runs
 *   are separators and are skipped, so `r1.2` compares like the parts `r`, 1, 2.
 * - A version that does not start with a digit (`dev`, `r42`, `release-7`, `unknown`, empty) sorts
 *   before every version that does: it says nothing about where it stands, and putting it above
 *   would make every later numeric release look like a downgrade. Among themselves such versions
 *   compare by their name — the text before the version's first digit (version-name.ts:
 *   `release-`, `app/`, `app2-`) — as text, then by the version after it under every rule above
 *   (`dev` < `r9` < `r10` < `ra` < `1.0.0`; `release-2.0.0-rc.1` < `release-2.0.0` ==
 *   `release-2.0.0+build5`). Read as text runs, `release-2.0.0-rc.1` sorted above its release.
 * - Both kinds are compared on one key: every string becomes a sequence of tokens, led by a
 *   text-led mark and the name, or a number-led mark (end < pre-release mark < release mark <
 *   number < text), and keys
 *   compare token by token. A semver's key is its core numbers, then the release mark or the
 *   pre-release mark and its identifiers, so a semver meets a non-semver in that same run-by-run
 *   order (`1.5.0` < `2024.01.15`). Because every comparison is the comparison of two keys, the
 *   order is total, deterministic and transitive over any mix of strings.
 */

import { splitVersionName } from "./version-name.js";

/**
 * The longest version a release may have: the hub's body.version, a manifest's `version`, `ship
 * release VERSION`. One of 300 KB was taken in a manifest (and named the archive, past what a file
 * name may hold); every listing and record that names a release carries its version.
 */
export const MAX_VERSION_LENGTH = 100;
export const MAX_VERSION_MESSAGE = `must be at most ${MAX_VERSION_LENGTH} characters long`;

/**
 * A release's version is one word, as a tag or semver is: a space, tab or line break around it or
 * inside it makes a version that looks like another (" 2.0.0" is 2.0.0 to the order above, not to
 * people or to the hub). So does an invisible format character: "2.0.0<U+200B>" was a second
 * release that every list showed as 2.0.0, and a bidirectional override turned "2.0.0-rc<U+202E>1"
 * around on the page. The hub's body.version and a manifest's `version` both keep to it.
 */
export const ONE_WORD_VERSION = /^[^\s\p{Cc}\p{Cf}]+$/u;
export const ONE_WORD_VERSION_MESSAGE =
  "must be one word: no spaces, tabs, line breaks, control characters or invisible format characters (a zero-width space, a bidirectional override …)";

/** One element of a version's sort key; `rank` orders kinds before values are looked at. */
type Token =
  | { rank: 0 } // end of the string
  | { rank: 1 } // a pre-release follows: sorts before the release itself
  | { rank: 2 } // the release itself (no pre-release)
  | { rank: 3 } // `dev` in a pre-release, `post` after a release: below any number or word there
  | { rank: 4; digits: string } // a number, kept as digits without leading zeros (no size limit)
  | { rank: 5; text: string };

const END: Token = { rank: 0 };
const PRE: Token = { rank: 1 };
const RELEASE: Token = { rank: 2 };
const LOW: Token = { rank: 3 };

export interface SemverLike {
  kind: "semver";
  raw: string;
  /** At least three parts (missing minor/patch filled with 0); longer cores keep their parts. */
  core: number[];
  /** A worded pre-release (`2.0.0rc2`) in semver's words: `["rc", 2]`. */
  prerelease: (string | number)[];
  build: string[];
  /** A post-release's number (`1.0.post2`: 2; `1.0.post`: 0). */
  post?: number;
}

export interface OtherVersion {
  kind: "other";
  raw: string;
  /** Digit runs as numbers, text runs as strings, separators (`.`) dropped. */
  runs: (string | number)[];
}

export type ParsedVersion = SemverLike | OtherVersion;

const BUILD = String.raw`(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?`;
const SEMVER_LIKE = new RegExp(
  String.raw`^(\d+(?:\.\d+)*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?${BUILD}$`,
);

/**
 * Words that mark a pre-release when written without semver's `-` (`1.0.0rc1`, `2.0b2`,
 * `1.0.0.beta`, Debian's `1.0~rc1`): as a semver with a `-pre` part, they name a build before the
 * release, not the release.
 */
const PRERELEASE_WORDS = /^(alpha|a|beta|b|rc|c|pre|preview|dev|snapshot|nightly|canary|next|test)$/i;
const WORDED_PRERELEASE = new RegExp(
  String.raw`^(\d+(?:\.\d+)*)[._~-]?(${PRERELEASE_WORDS.source.slice(2, -2)})[._-]?(\d*)${BUILD}$`,
  "i",
);
/** PEP 440's post-release (`1.0.post1`, `1.0post1`, `1.0_post`): after the release, before the next. */
const POST_RELEASE = new RegExp(String.raw`^(\d+(?:\.\d+)*)[._]?post[._-]?(\d*)${BUILD}$`, "i");

/**
 * Numbers joined by dashes alone (`2024-10-01`, `deploy-2024-10-01-1530` after its name) are a date
 * stamp written with dashes for dots: read as semver, 2024 with the pre-release `10-01`, a dated tag
 * was skipped as a pre-release and `2024-9-30` sorted above `2024-10-01`. A `-` after a dotted core
 * (`1.0.0-1`) is still semver's pre-release.
 */
const DASHED_NUMBERS = /^\d+(?:-\d+)+$/;

/** PEP 440's spellings of semver's pre-release words. */
const SEMVER_WORD: Record<string, string> = { a: "alpha", b: "beta", c: "rc", pre: "rc", preview: "rc" };

function normalise(s: string): string {
  const trimmed = s.trim();
  return /^[vV]\d/.test(trimmed) ? trimmed.slice(1) : trimmed;
}

/** The textual pieces both parseVersion and the sort key are built from (digits kept as text). */
type Pieces =
  | {
      kind: "semver";
      core: string[];
      prerelease: string[] | undefined;
      build: string[];
      /** `dev` as a pre-release word: before every other pre-release of its number. */
      dev?: true;
      /** A post-release's number, digits (empty: 0). */
      post?: string;
    }
  | { kind: "other"; runs: string[] };

function coreOf(text: string): string[] {
  const core = text.split(".");
  while (core.length < 3) core.push("0");
  return core;
}

function split(s: string): Pieces {
  const body = normalise(s);
  if (DASHED_NUMBERS.test(body))
    return { kind: "semver", core: coreOf(body.replace(/-/g, ".")), prerelease: undefined, build: [] };
  const m = SEMVER_LIKE.exec(body);
  if (m)
    return {
      kind: "semver",
      core: coreOf(m[1]!),
      prerelease: m[2]?.split("."),
      build: m[3]?.split(".") ?? [],
    };
  const worded = WORDED_PRERELEASE.exec(body);
  if (worded) {
    const word = worded[2]!.toLowerCase();
    const number = worded[3] === "" ? [] : [worded[3]!];
    const build = worded[4]?.split(".") ?? [];
    return word === "dev"
      ? { kind: "semver", core: coreOf(worded[1]!), prerelease: number, build, dev: true }
      : {
          kind: "semver",
          core: coreOf(worded[1]!),
          prerelease: [SEMVER_WORD[word] ?? word, ...number],
          build,
        };
  }
  const post = POST_RELEASE.exec(body);
  if (post)
    return {
      kind: "semver",
      core: coreOf(post[1]!),
      prerelease: undefined,
      build: post[3]?.split(".") ?? [],
      post: post[2]!,
    };
  return { kind: "other", runs: (body.match(/\d+|\D+/g) ?? []).filter((run) => run !== ".") };
}

const isDigits = (s: string) => /^\d+$/.test(s);

/** Parses a version string; never throws (every string has a place in the order). */
export function parseVersion(s: string): ParsedVersion {
  const pieces = split(s);
  const value = (part: string) => (isDigits(part) ? Number(part) : part);
  if (pieces.kind === "other") return { kind: "other", raw: s, runs: pieces.runs.map(value) };
  const { core, prerelease, build, dev, post } = pieces;
  return {
    kind: "semver",
    raw: s,
    core: core.map(Number),
    prerelease: [...(dev ? ["dev"] : []), ...(prerelease ?? [])].map(value),
    build,
    ...(post === undefined ? {} : { post: Number(post || "0") }),
  };
}

function partToken(part: string): Token {
  return isDigits(part) ? { rank: 4, digits: part.replace(/^0+(?=\d)/, "") } : { rank: 5, text: part };
}

/** Leads every key: versions starting with text sort before versions starting with a number. */
const TEXT_LED: Token = { rank: 1 };
const NUMBER_LED: Token = { rank: 2 };

/** The sort key; built from the text rather than numbers so huge numbers compare exactly. */
function sortKey(s: string): Token[] {
  const body = normalise(s);
  if (/^\d/.test(body)) return [NUMBER_LED, ...versionKey(body)];
  const { name, version } = splitVersionName(body);
  return [TEXT_LED, { rank: 5, text: name }, ...(version === "" ? [END] : versionKey(version))];
}

/** The key of a version starting with a digit, without its lead. */
function versionKey(version: string): Token[] {
  const pieces = split(version);
  if (pieces.kind === "other") return [...pieces.runs.map(partToken), END];
  const core = pieces.core.map(partToken);
  if (pieces.post !== undefined) return [...core, RELEASE, LOW, partToken(pieces.post || "0"), END];
  if (pieces.prerelease === undefined && pieces.dev === undefined) return [...core, RELEASE];
  const dev = pieces.dev ? [LOW] : [];
  return [...core, PRE, ...dev, ...(pieces.prerelease ?? []).map(partToken), END];
}

function compareTokens(a: Token, b: Token): number {
  if (a.rank !== b.rank) return a.rank < b.rank ? -1 : 1;
  if (a.rank === 4 && b.rank === 4) {
    if (a.digits.length !== b.digits.length) return a.digits.length < b.digits.length ? -1 : 1;
    return a.digits === b.digits ? 0 : a.digits < b.digits ? -1 : 1;
  }
  if (a.rank === 5 && b.rank === 5) return a.text === b.text ? 0 : a.text < b.text ? -1 : 1;
  return 0;
}

/**
 * Keys of the versions compared lately, by their text: a hub's wave start compares every agent's
 * version with the release's before the commit every hub waits for (10,000 agents, a handful of
 * versions), and each key is a parse of the text. Bounded (emptied when full); keys are only read.
 */
const KEYS_KEPT = 1024;
const keys = new Map<string, readonly Token[]>();

function keyOf(s: string): readonly Token[] {
  let key = keys.get(s);
  if (key === undefined) {
    if (keys.size >= KEYS_KEPT) keys.clear();
    key = sortKey(s);
    keys.set(s, key);
  }
  return key;
}

/** -1, 0 or 1 by the order described at the top of this file. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const ka = keyOf(a);
  const kb = keyOf(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const c = compareTokens(ka[i]!, kb[i]!);
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  return ka.length === kb.length ? 0 : ka.length < kb.length ? -1 : 1;
}

/**
 * Whether a string is plausible as a release version: non-empty, no whitespace or other
 * punctuation than `. _ + - ~`, and at least one digit (`1.2.3`, `v2`, `2024.01.15`, `r42`;
 * not `abc`, `latest`, `1 2`). Any string still has a place in the order; this is for warnings.
 */
export function isVersionLike(s: string): boolean {
  const body = normalise(s);
  return /^[0-9A-Za-z._+~-]+$/.test(body) && /\d/.test(body);
}

/**
 * What is wrong with a version given on a command line (`--current-version`, `--approve APP V`,
 * `ship release … VERSION`), by the rule a manifest's `version` keeps: " 2.0.0" was approved and
 * written into a new manifest as a version no manifest may have, and a value with a line break
 * made its refusal two lines. Undefined when it is fine.
 */
export function commandLineVersionProblem(version: string): string | undefined {
  if (!ONE_WORD_VERSION.test(version)) return ONE_WORD_VERSION_MESSAGE;
  if (version.length > MAX_VERSION_LENGTH) return MAX_VERSION_MESSAGE;
  return isVersionLike(version) ? undefined : "is not a release version (e.g. 2.0.0)";
}

/** A sorted copy, oldest first; equal versions keep their input order. */
export function sortVersions(versions: readonly string[]): string[] {
  return [...versions].sort(compareVersions);
}

/**
 * Whether a version (or a tag naming one) is a pre-release: a semver with a pre-release part
 * (`v2.0.0-rc.1`, `1.0.0-beta`), or a number with a pre-release word after it (`1.0.0rc1`, `2.0b2`).
 * A tag's name before its version is left out (`myapp-2.0.0-rc.1`, `r3.0.0-alpha.1`; `app2-1.0.0` is
 * a release of `app2-`, see version-name.ts). Build metadata is not one (`1.0.0+build.7`), nor is a
 * string without a digit.
 */
export function isPrerelease(version: string): boolean {
  const named = splitVersionName(normalise(version)).version;
  if (named === "") return false;
  const pieces = split(named);
  if (pieces.kind === "semver") return pieces.prerelease !== undefined;
  if (!/^\d/.test(pieces.runs[0] ?? "")) return false;
  return pieces.runs.some((run) => PRERELEASE_WORDS.test(run.replace(/^[-._~+]+|[-._~+]+$/g, "")));
}
