/**
 * A command-line word that is not UTF-8 (a path a Latin-1 system named, `caf\xe9.toml`): Node gives
 * the program that word with U+FFFD in place of the bytes, a string that names no file. `ship
 * --config /etc/ship/caf\xe9.toml` read "cannot read the config: no such file or directory" with the
 * file there, and `ship release -C` or `ship-hub --config` said the same of theirs. Refused as bad
 * input naming the flag and the word's bytes, before the command runs. The bytes are the kernel's
 * (/proc/self/cmdline); where there is none, nothing can tell, and the word goes on as Node gave it.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { escapedName, utf8NameOrUndefined } from "../byte-names.js";
import { BadInputError } from "../errors.js";

/** The NUL-separated entries of a /proc/self file, as bytes; undefined where /proc cannot say. */
function procEntries(file: "cmdline" | "environ"): Buffer[] | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(`/proc/self/${file}`);
  } catch {
    return undefined;
  }
  const entries: Buffer[] = [];
  for (let start = 0, end = bytes.indexOf(0); end >= 0; start = end + 1, end = bytes.indexOf(0, start))
    entries.push(bytes.subarray(start, end));
  return entries;
}

/** The last `count` words this process was started with, as bytes; undefined where /proc cannot say. */
function startedWith(count: number): Buffer[] | undefined {
  const words = procEntries("cmdline");
  return words === undefined || words.length < count ? undefined : words.slice(words.length - count);
}

/** The first word of `argv` (a program's, `node script …`) that reached it from bytes not UTF-8. */
export function nonUtf8ArgumentProblem(argv: readonly string[]): BadInputError | undefined {
  const words = argv.slice(2);
  if (!words.some((word) => word.includes("\uFFFD"))) return undefined;
  const raw = startedWith(words.length);
  // Words that are not this process's own (a program parsed in-process) tell nothing of its bytes.
  if (raw === undefined || raw.some((bytes, i) => bytes.toString("utf8") !== words[i])) return undefined;
  const at = raw.findIndex((bytes) => utf8NameOrUndefined(bytes) === undefined);
  if (at < 0) return undefined;
  const word = words[at] ?? "";
  const bytes = raw[at] ?? Buffer.alloc(0);
  const flag = word.startsWith("--")
    ? word.split("=")[0]
    : word.startsWith("-")
      ? word.slice(0, 2)
      : undefined;
  const previous = words[at - 1];
  // `--config=VALUE` and `-CVALUE` hold their flag; the value alone is shown.
  const [name, value] =
    flag !== undefined
      ? [flag, bytes.subarray(Buffer.byteLength(flag) + (word[flag.length] === "=" ? 1 : 0))]
      : [previous?.startsWith("-") === true ? previous : `argument ${at + 1}`, bytes];
  return BadInputError.single(
    name ?? word,
    "",
    `"${escapedName(value)}" is not UTF-8 (bytes of a Latin-1 name?): ship reads its command line as UTF-8, where it names no file; rename it, or give a UTF-8 symlink to it`,
  );
}

/** Checks the command line of `program` before any action runs (commander's preAction hook). */
export function refuseNonUtf8Arguments(program: Command): void {
  program.hook("preAction", () => {
    const problem = nonUtf8ArgumentProblem(process.argv);
    if (problem !== undefined) throw problem;
  });
}

/** The bytes of variable `name` as this process was started with it; undefined where /proc cannot say. */
function startedWithVariable(name: string): Buffer | undefined {
  const prefix = Buffer.from(`${name}=`);
  const entry = procEntries("environ")?.find((bytes) => bytes.subarray(0, prefix.length).equals(prefix));
  return entry?.subarray(prefix.length);
}

/**
 * A path read from the environment (`SHIP_HUB_CONFIG`, `SHIP_HOST_LOCK_DIR`): Node decodes it as
 * UTF-8 as it does the command line, so a Latin-1 `/etc/ship/caf\xe9/hub.toml` read "cannot read: no
 * such file" of `caf\uFFFD` with the file there. Refused naming the variable and its bytes; an empty
 * one reads as unset, as shells and systemd's Environment= use it.
 */
export function pathFromEnvironment(name: string): string | undefined {
  const value = process.env[name] || undefined;
  if (value === undefined || !value.includes("\uFFFD")) return value;
  const bytes = startedWithVariable(name);
  if (bytes === undefined || utf8NameOrUndefined(bytes) !== undefined) return value;
  throw BadInputError.single(
    `$${name}`,
    "",
    `"${escapedName(bytes)}" is not UTF-8 (bytes of a Latin-1 name?): ship reads its environment as UTF-8, where it names no file; rename it, or give a UTF-8 symlink to it`,
  );
}
