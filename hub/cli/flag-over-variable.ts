/**
 * A flag given together with the environment variable it stands in for wins, and says so: a value
 * left in the shell or in the unit's Environment= (another hub.toml, an older token, another hub
 * or database) was passed over without a word, and the operator could not tell which one was used.
 */
export interface FlagAndVariable {
  flag: string;
  given: string | undefined;
  variable: string;
  /** Echo both values: only where neither can hold a secret (a path, not a token or a URL). */
  show?: boolean;
  /** The two name the same thing (a path, however written): nothing to say. */
  same?: (flagValue: string, variableValue: string) => boolean;
}

/** The warning's words (without "warning:"), or undefined when only one is set or both agree. */
export function flagOverVariable(pair: FlagAndVariable): string | undefined {
  const { flag, given, variable, show = false, same = (a, b) => a === b } = pair;
  // An empty variable reads as unset, as shells and systemd's Environment= use it.
  const env = process.env[variable] || undefined;
  if (given === undefined || env === undefined || same(given, env)) return undefined;
  return show
    ? `${flag} ${given} is used; ${variable} (${env}) is ignored`
    : `${flag} is used; ${variable}, also set, is ignored`;
}
