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

/** The last `count` words this process was started with, as bytes; undefined where /proc cannot say. */
function startedWith(count: number): Buffer[] | undefined {
  let cmdline: Buffer;
  try {
    cmdline = readFileSync("/proc/self/cmdline");
  } catch {
    return undefined;
  }
  const words: Buffer[] = [];
  for (let start = 0, end = cmdline.indexOf(0); end >= 0; start = end + 1, end = cmdline.indexOf(0, start))
    words.push(cmdline.subarray(start, end));
  return words.length < count ? undefined : words.slice(words.length - count);
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
