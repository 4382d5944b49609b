/**
 * Directories a test fork builds once and keeps for the whole run (templates each test copies: a
 * PostgreSQL data directory, a set of git repositories), named after vitest's main process (the
 * fork's parent), which removes them when the run ends (global-setup.ts): vitest ends its forks
 * without an 'exit' event, so a fork cannot remove them itself.
 */
export function runTemplatePrefix(kind: string, runner: number): string {
  return `ship-${kind}-template-${runner}-`;
}

/** Whether `name` (an entry of the temp directory) is a template of the run of main process `runner`. */
export function isRunTemplate(name: string, runner: number): boolean {
  return new RegExp(`^ship-[a-z]+-template-${runner}-`).test(name);
}
