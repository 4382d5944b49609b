/**
 * What makes a token file's text no token ship can send (`[hub] token_file`, `ship release publish --token-file`): a second line (a new token written
 * below the old one, `>>` for `>`) was "internal error: Invalid character in header content", exit 1,
 * the unit restarting it for ever; a token pasted with its "Bearer " was refused at every connect
 * ("401 no bearer token"), the unit "active".
 */
export function tokenTextProblem(token: string): string | undefined {
  if (/^bearer\s/i.test(token))
    return 'starts with "Bearer ": write the token alone, as ship-hub token create prints it';
  const lines = token.split(/\r?\n/).length;
  if (lines > 1)
    return `holds ${lines} lines: write the one token alone, as ship-hub token create prints it (a new token replaces the old one, > not >>)`;
  if (/\s/.test(token))
    return "holds a space or tab: write the token alone, as ship-hub token create prints it";
  return undefined;
}
