/**
 * How a message names a manifest's command line: by the program it runs, its arguments left out.
 * The line itself may carry a secret (`curl -H "Authorization: Bearer …"`, `check-db --password …`,
 * `TOKEN=… ./probe.sh`), and a failure's words go to the terminal, ship.log, every on_failure
 * webhook and Slack message and the hub's report. Hooks and post_update_tests are named by their
 * place and name for the same reason; the program is what an operator needs to find the right one.
 */

/** Leading `NAME=value` words: the shell sets them for the program, which comes after them. */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** `program …` (or `program` alone when it has no arguments); `…` when the line names none. */
export function quotedCommand(command: string): string {
  const words = shellWords(command);
  const at = words.findIndex((word) => !ASSIGNMENT.test(word));
  const program = at === -1 ? undefined : words[at];
  if (program === undefined || program === "") return "…";
  return at === 0 && words.length === 1 ? program : `${program} …`;
}

/**
 * The line's words as sh splits them, quotes and backslashes taken out. An unclosed quote ends the
 * last word at the line's end; operators (`;`, `|`, `&&`) are word characters here, which only
 * matters after the program, and nothing after the program is shown.
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? "";
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) word = (word ?? "") + (line[++i] ?? "");
      else word = (word ?? "") + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\\" && i + 1 < line.length) word = (word ?? "") + (line[++i] ?? "");
    else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}
