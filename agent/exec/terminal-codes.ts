/**
 * Escape sequences a terminal acts on rather than shows: colours and cursor moves (CSI, `ESC [ … m`),
 * titles and links (OSC, `ESC ] … BEL` or `ESC ] … ESC \`), and the two-byte ones (`ESC c`,
 * `ESC (B`). A test runner's red "FAIL" quoted raw in a one-line failure reached webhooks and the
 * hub's reasons as `\u001b[1;31mFAIL`, and a closing reset printed on a line of its own was taken
 * for the command's last line, so the reason read ": \u001b[0m".
 */
const TERMINAL_CODES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape byte is what is matched
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[ -/]*[0-~]|\u009b[0-?]*[ -/]*[@-~]/g;

/** The text as a terminal shows it, without the escape sequences it would act on. */
export function withoutTerminalCodes(text: string): string {
  return text.replace(TERMINAL_CODES, "");
}
