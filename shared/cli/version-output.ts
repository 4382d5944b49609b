/**
 * `ship --version --json` / `ship-hub --version --json`: `--json` promises machine-readable output,
 * and a version is no exception. ship printed the bare "0.1.0" (not JSON), ship-hub refused it as
 * "unknown option '--version'", exit 2, so an install script checking the version with --json failed.
 */
export function versionOutput(args: readonly string[], version: string): string | undefined {
  const rest = args.filter((a) => a !== "--json");
  if (rest.length !== 1 || rest[0] !== "--version" || args.length > 2) return undefined;
  return args.length === 2 ? `${JSON.stringify({ version })}\n` : `${version}\n`;
}
