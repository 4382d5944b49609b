/**
 * Values as one PostgreSQL array literal (`{…}`), sent as a single parameter and cast in the
 * statement (`::text[]`, `::int[]`, `::bigint[]`): a batch's columns as arrays read by `unnest`, or
 * a list of ids for `= ANY(…)`. null is NULL.
 *
 * JSON.stringify (native) writes the literal PostgreSQL reads whenever it escaped nothing: its
 * strings are then double-quoted with no `"`, `\` or control character inside, `null` unquoted is
 * NULL to the array parser, and numbers are as PostgreSQL writes them. Anything it escaped (a
 * backslash appears) is written value by value, quoting only `"` and `\`, as the array parser
 * unquotes them. A 1,000-row chunk of a rollout's deployments is ten such literals.
 */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  const json = JSON.stringify(values);
  if (!json.includes("\\")) return `{${json.slice(1, -1)}}`;
  return `{${values.map(element).join(",")}}`;
}

function element(value: string | number | null): string {
  if (value === null) return "NULL";
  if (typeof value === "number") return String(value);
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}
