/**
 * git's words for a server it could not reach differ by transport (curl for http(s), ssh, git's
 * own daemon protocol), and the first line is often only "fatal: unable to access '…':" or ssh's
 * "Could not read from remote repository". One sentence for all of them, as http and sftp sources
 * say it: the run stays exit 1 (the server may be back next run), the line says what to look at.
 */

const patterns: readonly [RegExp, (m: RegExpExecArray) => string][] = [
  // curl (http, https): "Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server"
  [/Failed to connect to (\S+) port (\d+)[^:\r\n]*: ([^\r\n]+)/, (m) => `${m[1]} port ${m[2]} (${m[3]})`],
  // ssh: "ssh: connect to host 127.0.0.1 port 1: Connection refused"
  [/ssh: connect to host (\S+) port (\d+): ([^\r\n]+)/, (m) => `${m[1]} port ${m[2]} (${m[3]})`],
  // git://: "unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused"
  [/unable to connect to ([^\s:]+):?\s*\n[^\n]*errno=([^\r\n]+)/, (m) => `${m[1]} (${m[2]})`],
  [/Could not resolve host(?:name)?:? ([^\s:]+)/, (m) => `${m[1]} (no such host)`],
  [/Connection timed out after \d+ milliseconds|Operation timed out/, () => "the server (timed out)"],
];

/** "cannot reach the git server at HOST port N (why)", or undefined when git reached it. */
export function unreachableText(gitOutput: string): string | undefined {
  for (const [pattern, words] of patterns) {
    const m = pattern.exec(gitOutput);
    if (m !== null) return `cannot reach the git server at ${words(m).trim()}`;
  }
  return undefined;
}
