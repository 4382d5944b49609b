/**
 * `ship --version --json` / `ship-hub --version --json`: `--json` promises machine-readable output,
 * and a version is no exception. ship printed the bare "0.1.0" (not JSON), ship-hub refused it as
 * "unknown option '--version'", exit 2, so an install script checking the version with --json failed.
 */

/** What `--version` prints: the bare version, or with --json `{"version": …}`. */
export function versionText(version: string, json: boolean): string {
  return json ? JSON.stringify({ version }) : version;
}

export type VersionRequest = { stdout: string } | { error: string };

/**
 * ship-hub's `--version [--json]`, read by hand (commander's .version() would answer `rollout create
 * --version V` too). Undefined when the arguments are not a version request: `--version` inside a
 * command, or with --help (which commander answers). Anything else beside it was "unknown option
 * '--version'", naming the one option ship-hub knows instead of the typo (`--version --jsn`).
 */
export function versionRequest(args: readonly string[], version: string): VersionRequest | undefined {
  const at = args.indexOf("--version");
  if (at < 0 || args.slice(0, at).some((a) => !a.startsWith("-"))) return undefined;
  if (args.some((a) => a === "--help" || a === "-h")) return undefined;
  const other = args.find((a) => a !== "--version" && a !== "--json");
  if (other === undefined) return { stdout: `${versionText(version, args.includes("--json"))}\n` };
  const what = other.startsWith("-") ? `unknown option '${other}'` : `unexpected argument '${other}'`;
  return { error: `${what}: --version takes only --json (ship-hub --version [--json])` };
}
